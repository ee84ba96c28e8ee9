package conf

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplit(t *testing.T) {
	u := func(id string) User { return User{ID: id} }
	one := func(addr string, port int, id string) VMessSettings {
		return VMessSettings{Vnext: []Server{{Address: addr, Port: port, Users: []User{u(id)}}}}
	}
	tests := []struct {
		name string
		in   *VMessSettings
		want []VMessSettings
	}{
		{"nil", nil, nil},
		{"flat", &VMessSettings{Address: "a", Port: 1, ID: "x"}, []VMessSettings{{Address: "a", Port: 1, ID: "x"}}},
		{"one", &VMessSettings{Vnext: []Server{{Address: "a", Port: 1, Users: []User{u("x")}}}}, []VMessSettings{one("a", 1, "x")}},
		{"servers by users", &VMessSettings{Vnext: []Server{
			{Address: "a", Port: 1, Users: []User{u("x"), u("y")}},
			{Address: "b", Port: 2},
			{Address: "c", Port: 3, Users: []User{u("z")}},
		}}, []VMessSettings{one("a", 1, "x"), one("a", 1, "y"), one("c", 3, "z")}},
		{"no users", &VMessSettings{Vnext: []Server{{Address: "a", Port: 1}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, tt.in.Split()); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
