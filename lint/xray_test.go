package lint

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ghodss/yaml"
	"github.com/xtls/xray-core/common/cmdarg"
	xlog "github.com/xtls/xray-core/common/log"
	xserial "github.com/xtls/xray-core/common/serial"
	"github.com/xtls/xray-core/core"
	"github.com/xtls/xray-core/features/outbound"
	"github.com/xtls/xray-core/infra/conf/serial"
	_ "github.com/xtls/xray-core/main/distro/all" // the features core.New starts
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/xvmtools/xvm/schema"
)

// xrayBuild loads a document with Xray-core's own loader (infra/conf of
// v1.260327.0) and builds it, as `xray run -test` would up to handler
// creation. Documents that are not whole configs are wrapped into one.
func xrayBuild(name string, data []byte) error {
	_, err := xrayConfig(name, data)
	return err
}

// xrayConfig is the config xrayBuild builds.
func xrayConfig(name string, data []byte) (*core.Config, error) {
	// Xray logs a deprecation warning for every VMess outbound it builds.
	quietXray.Do(func() { xlog.RegisterHandler(quietXrayLog{}) })
	f := schema.FormatOf(name, data)
	doc, err := schema.Load(name, data)
	kind := schema.ConfigKind
	if err == nil {
		kind = schema.Detect(doc.Root)
	}
	if kind == schema.UnknownKind {
		kind = schema.ConfigKind
	}
	if f == schema.TOML {
		if kind != schema.ConfigKind {
			return nil, fmt.Errorf("test corpus: TOML documents must be whole configs")
		}
		c, err := serial.DecodeTOMLConfig(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		return c.Build()
	}
	text := data
	if f == schema.YAML {
		j, err := yaml.YAMLToJSON(data)
		if err != nil {
			return nil, err
		}
		text = j
	}
	var wrapped []byte
	switch kind {
	case schema.ConfigKind:
		wrapped = text
	case schema.OutboundKind:
		wrapped = []byte(`{"outbounds": [` + string(text) + "\n]}")
	case schema.OutboundListKind:
		wrapped = []byte(`{"outbounds": ` + string(text) + "\n}")
	case schema.SettingsKind:
		wrapped = []byte(`{"outbounds": [{"protocol": "vmess", "settings": ` + string(text) + "\n}]}")
	}
	c, err := serial.DecodeJSONConfig(bytes.NewReader(wrapped))
	if err != nil {
		return nil, err
	}
	return c.Build()
}

// xrayTree is a built config as plain values (objects by the fields' JSON
// names, lists, scalars), with every TypedMessage opened into the message
// it carries, so that two builds can be compared field by field.
func xrayTree(m protoreflect.Message) map[string]any {
	out := map[string]any{}
	if tm, ok := m.Interface().(*xserial.TypedMessage); ok {
		inner, err := tm.GetInstance()
		if err != nil {
			out["@type"], out["@bytes"] = tm.Type, fmt.Sprintf("%x", tm.Value)
			return out
		}
		out = xrayTree(inner.ProtoReflect())
		out["@type"] = tm.Type
		return out
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		out[fd.JSONName()] = xrayValue(fd, v)
		return true
	})
	return out
}

func xrayValue(fd protoreflect.FieldDescriptor, v protoreflect.Value) any {
	switch {
	case fd.IsList():
		l := v.List()
		items := make([]any, l.Len())
		for i := range items {
			items[i] = xrayScalar(fd, l.Get(i))
		}
		return items
	case fd.IsMap():
		mp := map[string]any{}
		v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
			mp[k.String()] = xrayScalar(fd.MapValue(), mv)
			return true
		})
		return mp
	}
	return xrayScalar(fd, v)
}

func xrayScalar(fd protoreflect.FieldDescriptor, v protoreflect.Value) any {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return xrayTree(v.Message())
	case protoreflect.BytesKind:
		return fmt.Sprintf("%x", v.Bytes())
	}
	return v.Interface()
}

// treeDiff appends the paths ("outbound/0/…/allowInsecure") at which two
// xrayTree values differ.
func treeDiff(path string, a, b any, out []string) []string {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		for k := range keys {
			out = treeDiff(path+"/"+k, am[k], bm[k], out)
		}
		return out
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok && len(al) == len(bl) {
		for i := range al {
			out = treeDiff(fmt.Sprintf("%s/%d", path, i), al[i], bl[i], out)
		}
		return out
	}
	if fmt.Sprint(a) != fmt.Sprint(b) {
		out = append(out, path)
	}
	return out
}

// corpusCase is one configuration of the differential corpus.
type corpusCase struct {
	name string
	ext  string // ".json" unless set
	text string
	// buildsWithNotes marks configs Xray builds whose only oddities are
	// what Xray reads as absent (a null), case-variant keys or the stats
	// API's tag as a rule's outboundTag: lint may say at most a note.
	buildsWithNotes bool
}

const goodID = "27848739-7e62-4138-9fd3-098a63964b6b"

// ob builds an outbound with a vnext VMess server, optionally changing the
// user object, the server object or adding outbound-level keys.
func ob(user, server, extra string) string {
	if user == "" {
		user = `"id": "` + goodID + `"`
	}
	if server == "" {
		server = `"address": "vmess.example.com", "port": 443`
	}
	s := `{"protocol": "vmess", "tag": "proxy", "settings": {"vnext": [{` + server + `, "users": [{` + user + `}]}]}`
	if extra != "" {
		s += ", " + extra
	}
	return s + "}"
}

func flat(fields, extra string) string {
	s := `{"protocol": "vmess", "tag": "proxy", "settings": {"address": "vmess.example.com", "port": 443, "id": "` + goodID + `"` + fields + `}`
	if extra != "" {
		s += ", " + extra
	}
	return s + "}"
}

func cfg(outbounds ...string) string {
	return `{"outbounds": [` + strings.Join(outbounds, ",\n") + `]}`
}

func tlsStream(tlsSettings string) string {
	return `"streamSettings": {"network": "raw", "security": "tls", "tlsSettings": {"serverName": "vmess.example.com"` + tlsSettings + `}}`
}

func differentialCorpus() []corpusCase {
	return []corpusCase{
		// valid
		{name: "plain vnext", text: ob("", "", "")},
		{name: "flat form", text: flat("", "")},
		{name: "flat form ignores vnext", text: flat(`, "vnext": []`, "")},
		{name: "security aes", text: ob(`"id": "`+goodID+`", "security": "aes-128-gcm"`, "", "")},
		{name: "security chacha", text: ob(`"id": "`+goodID+`", "security": "chacha20-poly1305"`, "", "")},
		{name: "security upper case", text: ob(`"id": "`+goodID+`", "security": "AUTO"`, "", "")},
		{name: "security none over tls", text: ob(`"id": "`+goodID+`", "security": "none"`, "", tlsStream(""))},
		{name: "security zero", text: ob(`"id": "`+goodID+`", "security": "zero"`, "", "")},
		{name: "unknown security becomes auto", text: ob(`"id": "`+goodID+`", "security": "aes-256-gcm"`, "", "")},
		{name: "alterId ignored", text: ob(`"id": "`+goodID+`", "alterId": 64`, "", "")},
		{name: "typo ignored", text: ob(`"id": "`+goodID+`", "secuirty": "none"`, "", "")},
		{name: "upper case keys", text: `{"Protocol": "VMess", "Settings": {"VNext": [{"Address": "a.example.com", "Port": 443, "Users": [{"ID": "` + goodID + `"}]}]}}`},
		{name: "id without dashes", text: ob(`"id": "278487397e6241389fd3098a63964b6b"`, "", "")},
		{name: "id upper case", text: ob(`"id": "27848739-7E62-4138-9FD3-098A63964B6B"`, "", "")},
		{name: "id name 5 bytes", text: ob(`"id": "hello"`, "", "")},
		{name: "id name 30 bytes", text: ob(`"id": "abcdefghijklmnopqrstuvwxyz0123"`, "", "")},
		{name: "id trailing junk", text: ob(`"id": "27848739-7e62-4138-9fd3-098a63964b6bzz"`, "", "")},
		{name: "level and email", text: ob(`"id": "`+goodID+`", "level": 2, "email": "a@example.com"`, "", "")},
		{name: "experiments", text: ob(`"id": "`+goodID+`", "experiments": "AuthenticatedLength|NoTerminationSignal"`, "", "")},
		{name: "ipv6 address", text: ob("", `"address": "2001:db8::1", "port": 443`, "")},
		{name: "bracketed ipv6", text: ob("", `"address": "[2001:db8::1]", "port": 443`, "")},
		{name: "tls with sni", text: ob("", "", tlsStream(""))},
		{name: "tls fingerprint", text: ob("", "", tlsStream(`, "fingerprint": "firefox"`))},
		{name: "tls fingerprint case", text: ob("", "", tlsStream(`, "fingerprint": "Chrome"`))},
		{name: "tls alpn string", text: ob("", "", tlsStream(`, "alpn": "h2,http/1.1"`))},
		{name: "tls pinned", text: ob("", "", tlsStream(`, "pinnedPeerCertSha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"`))},
		{name: "ws", text: ob("", "", `"streamSettings": {"network": "ws", "wsSettings": {"path": "/ws?ed=2048", "host": "a.example.com"}}`)},
		{name: "websocket alias", text: ob("", "", `"streamSettings": {"network": "websocket", "wsSettings": {"path": "/ws"}}`)},
		{name: "httpupgrade", text: ob("", "", `"streamSettings": {"network": "httpupgrade", "httpupgradeSettings": {"path": "/up"}}`)},
		{name: "grpc", text: ob("", "", `"streamSettings": {"network": "grpc", "grpcSettings": {"serviceName": "tun", "multiMode": true}}`)},
		{name: "xhttp", text: ob("", "", `"streamSettings": {"network": "xhttp", "xhttpSettings": {"path": "/x", "mode": "packet-up"}}`)},
		{name: "splithttp alias", text: ob("", "", `"streamSettings": {"network": "splithttp", "splithttpSettings": {"path": "/x"}}`)},
		{name: "kcp", text: ob("", "", `"streamSettings": {"network": "kcp", "kcpSettings": {"mtu": 1350, "tti": 20, "congestion": true}}`)},
		{name: "raw http header", text: ob("", "", `"streamSettings": {"network": "tcp", "tcpSettings": {"header": {"type": "http", "request": {"path": ["/"]}}}}`)},
		{name: "mux", text: ob("", "", `"mux": {"enabled": true, "concurrency": 8, "xudpProxyUDP443": "skip"}`)},
		{name: "target strategy", text: ob("", "", `"targetStrategy": "ForceIPv4"`)},
		{name: "target strategy lower", text: ob("", "", `"targetStrategy": "useipv6"`)},
		{name: "send through ip", text: ob("", "", `"sendThrough": "192.0.2.1"`)},
		{name: "send through origin", text: ob("", "", `"sendThrough": "origin"`)},
		{name: "proxy settings", text: cfg(ob("", "", `"proxySettings": {"tag": "direct"}`), `{"protocol": "freedom", "tag": "direct"}`)},
		{name: "empty transport", text: `{"transport": {}, "outbounds": [` + ob("", "", "") + `]}`},
		{name: "reality", text: ob("", "", `"streamSettings": {"network": "raw", "security": "reality", "realitySettings": {"serverName": "www.example.org", "publicKey": "7xhH4b_VkliBxGulljcyPOH-bYUA2dl-XAdZAsfhk04", "shortId": "6ba85179e30d4fc2"}}`)},
		{name: "comments", text: "// comment\n{\n # hash\n \"protocol\": \"vmess\", /* block */ \"settings\": {\"address\": \"a.example.com\", \"port\": 443, \"id\": \"" + goodID + "\"}\n}"},
		{name: "list of outbounds", text: "[" + ob("", "", "") + "," + flat("", `"tag": "b"`) + "]"},
		{name: "bare settings", text: `{"vnext": [{"address": "a.example.com", "port": 443, "users": [{"id": "` + goodID + `"}]}]}`},
		{name: "port 0 accepted by xray", text: ob("", `"address": "a.example.com", "port": 0`, "")},
		{name: "address with scheme accepted by xray", text: ob("", `"address": "https://a.example.com", "port": 443`, "")},
		{name: "ws path without slash", text: ob("", "", `"streamSettings": {"network": "ws", "wsSettings": {"path": "ws"}}`)},
		{name: "tls to ip without sni", text: ob("", `"address": "192.0.2.1", "port": 443`, `"streamSettings": {"security": "tls"}`)},
		{name: "other protocol settings not judged", text: cfg(ob("", "", ""), `{"protocol": "freedom", "tag": "direct", "settings": {"domainStrategy": "UseIP"}}`)},
		{name: "duplicate tags", text: cfg(ob("", "", ""), ob("", "", ""))},
		{name: "routing to a missing tag", text: `{"outbounds": [` + ob("", "", "") + `], "routing": {"rules": [{"type": "field", "network": "udp", "outboundTag": "nope"}]}}`},
		{name: "empty address", text: ob("", `"address": "", "port": 443`, "")},
		{name: "address with port", text: ob("", `"address": "a.example.com:443", "port": 443`, "")},
		{name: "last of case-variant keys wins", text: ob("", `"address": "a.example.com", "port": "443", "Port": 443`, "")},
		{name: "last of case-variant keys wins broken", text: ob("", `"address": "a.example.com", "port": 443, "PORT": "443"`, "")},
		{name: "settings null", text: `{"protocol": "vmess", "settings": null}`},
		{name: "users null element", text: ob("", "", "")[:0] + `{"protocol": "vmess", "settings": {"vnext": [{"address": "a.example.com", "port": 443, "users": [null]}]}}`},
		{name: "port float literal", text: ob("", `"address": "a.example.com", "port": 443.0`, "")},
		{name: "port exponent", text: ob("", `"address": "a.example.com", "port": 4.43e2`, "")},
		{name: "alterId string", text: ob(`"id": "`+goodID+`", "alterId": "64"`, "", "")},
		{name: "email number", text: ob(`"id": "`+goodID+`", "email": 5`, "", "")},
		{name: "security number", text: ob(`"id": "`+goodID+`", "security": 1`, "", "")},
		{name: "tag number", text: `{"protocol": "vmess", "tag": 1, "settings": {"address": "a.example.com", "port": 443, "id": "` + goodID + `"}}`},
		{name: "mux enabled string", text: ob("", "", `"mux": {"enabled": "true"}`)},
		{name: "send through cidr", text: ob("", "", `"sendThrough": "10.0.0.0/8"`)},
		{name: "alpn number", text: ob("", "", tlsStream(`, "alpn": 1`))},
		{name: "network empty", text: ob("", "", `"streamSettings": {"network": ""}`)},
		{name: "proxy settings without tag", text: ob("", "", `"proxySettings": {}`)},
		{name: "tls minVersion bogus", text: ob("", "", tlsStream(`, "minVersion": "1.4"`))},
		{name: "kcp mtu small", text: ob("", "", `"streamSettings": {"network": "kcp", "kcpSettings": {"mtu": 100}}`)},
		{name: "ws heartbeat negative", text: ob("", "", `"streamSettings": {"network": "ws", "wsSettings": {"heartbeatPeriod": -1}}`)},
		{name: "tcpFastOpen string", text: ob("", "", `"streamSettings": {"sockopt": {"tcpFastOpen": "yes"}}`)},
		{name: "sockopt domainStrategy bogus", text: ob("", "", `"streamSettings": {"sockopt": {"domainStrategy": "bogus"}}`)},
		{name: "xhttp mode case", text: ob("", "", `"streamSettings": {"network": "xhttp", "xhttpSettings": {"mode": "Auto"}}`)},
		{name: "echForceQuery bogus", text: ob("", "", tlsStream(`, "echForceQuery": "bogus"`))},
		{name: "pinned not hex", text: ob("", "", tlsStream(`, "pinnedPeerCertSha256": "xyz"`))},
		{name: "raw header type bogus", text: ob("", "", `"streamSettings": {"network": "raw", "rawSettings": {"header": {"type": "bogus"}}}`)},
		{name: "targetStrategy empty", text: ob("", "", `"targetStrategy": ""`)},
		{name: "security NONE over raw", text: ob("", "", `"streamSettings": {"security": "NONE"}`)},
		{name: "tls fingerprint empty", text: ob("", "", tlsStream(`, "fingerprint": ""`))},
		{name: "grpc authority", text: ob("", "", `"streamSettings": {"network": "grpc", "grpcSettings": {"authority": "a", "idle_timeout": 60}}`)},
		{name: "no protocol", text: `{"tag": "x", "settings": {"address": "a.example.com", "port": 443, "id": "` + goodID + `"}}`},
		{name: "empty protocol", text: `{"protocol": "", "settings": {}}`},
		{name: "outbounds not an array", text: `{"outbounds": {}}`},
		{name: "outbound not an object", text: `{"outbounds": [1]}`},
		{name: "bad inbound port", text: `{"inbounds": [{"protocol": "socks", "port": "x"}], "outbounds": [` + ob("", "", "") + `]}`},
		{name: "routing rule without target", text: `{"outbounds": [` + ob("", "", "") + `], "routing": {"rules": [{"type": "field", "network": "tcp"}]}}`},
		{name: "freedom settings bad", text: cfg(ob("", "", ""), `{"protocol": "freedom", "tag": "direct", "settings": {"domainStrategy": "bogus"}}`)},
		{name: "tls certificate usage bogus", text: ob("", "", tlsStream(`, "certificates": [{"usage": "bogus", "certificate": ["x"]}]`))},
		{name: "tls curve bogus", text: ob("", "", tlsStream(`, "curvePreferences": ["P-1000"]`))},
		{name: "tls cipher bogus", text: ob("", "", tlsStream(`, "cipherSuites": "TLS_BOGUS"`))},
		{name: "tls ech config bogus", text: ob("", "", tlsStream(`, "echConfigList": "!!!"`))},
		{name: "ws early data bogus", text: ob("", "", `"streamSettings": {"network": "ws", "wsSettings": {"path": "/ws?ed=abc"}}`)},
		{name: "xhttp padding bogus", text: ob("", "", `"streamSettings": {"network": "xhttp", "xhttpSettings": {"xPaddingBytes": "abc"}}`)},
		{name: "sockopt tproxy bogus", text: ob("", "", `"streamSettings": {"sockopt": {"tproxy": "bogus"}}`)},
		{name: "sockopt addressPortStrategy bogus", text: ob("", "", `"streamSettings": {"sockopt": {"addressPortStrategy": "bogus"}}`)},
		{name: "sockopt happyEyeballs bogus", text: ob("", "", `"streamSettings": {"sockopt": {"happyEyeballs": {"tryDelayMs": "x"}}}`)},
		{name: "finalmask bogus", text: ob("", "", `"streamSettings": {"finalmask": {"udp": [{"type": "bogus"}]}}`)},
		{name: "raw http header path number", text: ob("", "", `"streamSettings": {"rawSettings": {"header": {"type": "http", "request": {"path": 5}}}}`)},
		{name: "hysteria auth number", text: ob("", "", `"streamSettings": {"network": "hysteria", "hysteriaSettings": {"version": 2, "auth": 5}}`)},
		// null is as if the key were absent (encoding/json leaves the field alone)
		{name: "null user security", text: ob(`"id": "`+goodID+`", "security": null`, "", ""), buildsWithNotes: true},
		{name: "null tlsSettings", text: ob("", "", `"streamSettings": {"security": "tls", "tlsSettings": null}`), buildsWithNotes: true},
		{name: "null mux", text: ob("", "", `"mux": null`), buildsWithNotes: true},
		{name: "null streamSettings", text: ob("", "", `"streamSettings": null`), buildsWithNotes: true},
		{name: "null network", text: ob("", "", `"streamSettings": {"network": null, "security": null}`), buildsWithNotes: true},
		{name: "null alpn", text: ob("", "", tlsStream(`, "alpn": null`)), buildsWithNotes: true},
		{name: "null level and alterId", text: ob(`"id": "`+goodID+`", "level": null, "alterId": null`, "", ""), buildsWithNotes: true},
		{name: "null tag", text: `{"protocol": "vmess", "tag": null, "settings": {"address": "a.example.com", "port": 443, "id": "` + goodID + `"}}`, buildsWithNotes: true},
		{name: "null ws settings and path", text: cfg(ob("", "", `"streamSettings": {"network": "ws", "wsSettings": null}`), `{"protocol": "vmess", "tag": "b", "settings": {"address": "a.example.com", "port": 443, "id": "`+goodID+`"}, "streamSettings": {"network": "ws", "wsSettings": {"path": null}}}`), buildsWithNotes: true},
		{name: "null sockopt and concurrency", text: ob("", "", `"streamSettings": {"sockopt": null}, "mux": {"enabled": true, "concurrency": null}`), buildsWithNotes: true},
		{name: "null routing", text: `{"outbounds": [` + ob("", "", "") + `], "routing": null}`, buildsWithNotes: true},
		{name: "null after a port", text: ob("", `"address": "a.example.com", "port": 443, "port": null`, ""), buildsWithNotes: true},
		{name: "stats api tag as outboundTag", text: statsAPIConfig(), buildsWithNotes: true},
		{name: "case-variant keys", text: `{"Outbounds": [{"protocol": "vmess", "Settings": {"vnext": [{"Address": "a.example.com", "port": 443, "users": [{"id": "` + goodID + `"}]}]}}]}`, buildsWithNotes: true},
		{name: "yaml list", ext: ".yaml", text: "- protocol: vmess\n  settings:\n    address: a.example.com\n    port: 443\n    id: " + goodID + "\n"},

		// broken
		{name: "null id", text: ob(`"id": null`, "", "")},
		{name: "null address", text: ob("", `"address": null, "port": 443`, "")},
		{name: "null settings", text: `{"protocol": "vmess", "settings": null}`},
		{name: "null vnext", text: `{"protocol": "vmess", "settings": {"vnext": null}}`},
		{name: "null users", text: `{"protocol": "vmess", "settings": {"vnext": [{"address": "a.example.com", "port": 1, "users": null}]}}`},
		{name: "null protocol", text: `{"protocol": null, "settings": {}}`},
		{name: "fragment of a config", text: "\"stats\": {}\n\"api\": {\"tag\": \"api\"}\n"},
		{name: "a bare number", text: "443\n"},
		{name: "syntax trailing comma", text: `{"protocol": "vmess", "settings": {"address": "a", "port": 443,}}`},
		{name: "syntax missing comma", text: `{"protocol": "vmess" "settings": {}}`},
		{name: "syntax unterminated", text: `{"protocol": "vmess", "settings": {"address": "a`},
		{name: "no settings", text: `{"protocol": "vmess", "tag": "x"}`},
		{name: "empty settings", text: `{"protocol": "vmess", "settings": {}}`},
		{name: "empty vnext", text: `{"protocol": "vmess", "settings": {"vnext": []}}`},
		{name: "two servers", text: `{"protocol": "vmess", "settings": {"vnext": [{"address": "a.example.com", "port": 1, "users": [{"id": "` + goodID + `"}]}, {"address": "b.example.com", "port": 2, "users": [{"id": "` + goodID + `"}]}]}}`},
		{name: "two users", text: ob(`"id": "`+goodID+`"}, {"id": "`+goodID+`"`, "", "")},
		{name: "empty users", text: `{"protocol": "vmess", "settings": {"vnext": [{"address": "a.example.com", "port": 1, "users": []}]}}`},
		{name: "no users", text: `{"protocol": "vmess", "settings": {"vnext": [{"address": "a.example.com", "port": 1}]}}`},
		{name: "no address", text: ob("", `"port": 443`, "")},
		{name: "empty id", text: ob(`"id": ""`, "", "")},
		{name: "no id", text: ob(`"level": 0`, "", "")},
		{name: "id 31 bytes", text: ob(`"id": "abcdefghijklmnopqrstuvwxyz01234"`, "", "")},
		{name: "id 37 bytes", text: ob(`"id": "`+goodID+`0"`, "", "")},
		{name: "id not hex", text: ob(`"id": "zz848739-7e62-4138-9fd3-098a63964b6b"`, "", "")},
		{name: "id too short hex", text: ob(`"id": "27848739-7e62-4138-9fd3-098a63964b6"`, "", "")},
		{name: "id number", text: ob(`"id": 12345`, "", "")},
		{name: "port string", text: ob("", `"address": "a.example.com", "port": "443"`, "")},
		{name: "port too big", text: ob("", `"address": "a.example.com", "port": 70000`, "")},
		{name: "port negative", text: ob("", `"address": "a.example.com", "port": -1`, "")},
		{name: "port fraction", text: ob("", `"address": "a.example.com", "port": 443.5`, "")},
		{name: "flat port string", text: `{"protocol": "vmess", "settings": {"address": "a.example.com", "port": "443", "id": "` + goodID + `"}}`},
		{name: "level string", text: ob(`"id": "`+goodID+`", "level": "1"`, "", "")},
		{name: "level negative", text: ob(`"id": "`+goodID+`", "level": -1`, "", "")},
		{name: "address number", text: ob("", `"address": 1234, "port": 443`, "")},
		{name: "unknown protocol", text: `{"protocol": "vmesss", "settings": {}}`},
		{name: "network h2", text: ob("", "", `"streamSettings": {"network": "h2"}`)},
		{name: "network http", text: ob("", "", `"streamSettings": {"network": "http"}`)},
		{name: "network quic", text: ob("", "", `"streamSettings": {"network": "quic"}`)},
		{name: "network domainsocket", text: ob("", "", `"streamSettings": {"network": "domainsocket"}`)},
		{name: "network unknown", text: ob("", "", `"streamSettings": {"network": "carrier-pigeon"}`)},
		{name: "security xtls", text: ob("", "", `"streamSettings": {"security": "xtls"}`)},
		{name: "security unknown", text: ob("", "", `"streamSettings": {"security": "ssl"}`)},
		{name: "allowInsecure", text: ob("", "", tlsStream(`, "allowInsecure": true`))},
		{name: "fingerprint unknown", text: ob("", "", tlsStream(`, "fingerprint": "netscape"`))},
		{name: "verifyPeerCertInNames", text: ob("", "", tlsStream(`, "verifyPeerCertInNames": ["a"]`))},
		{name: "kcp seed", text: ob("", "", `"streamSettings": {"network": "kcp", "kcpSettings": {"seed": "x"}}`)},
		{name: "kcp header", text: ob("", "", `"streamSettings": {"network": "kcp", "kcpSettings": {"header": {"type": "none"}}}`)},
		{name: "xhttp mode unknown", text: ob("", "", `"streamSettings": {"network": "xhttp", "xhttpSettings": {"mode": "turbo"}}`)},
		{name: "grpc multiMode string", text: ob("", "", `"streamSettings": {"network": "grpc", "grpcSettings": {"multiMode": "true"}}`)},
		{name: "target strategy unknown", text: ob("", "", `"targetStrategy": "PreferIPv4"`)},
		{name: "send through domain", text: ob("", "", `"sendThrough": "example.com"`)},
		{name: "proxy settings empty tag", text: ob("", "", `"proxySettings": {"tag": ""}`)},
		{name: "mux xudp unknown", text: ob("", "", `"mux": {"enabled": true, "xudpProxyUDP443": "maybe"}`)},
		{name: "mux concurrency string", text: ob("", "", `"mux": {"enabled": true, "concurrency": "8"}`)},
		{name: "non-empty transport", text: `{"transport": {"tcpSettings": {}}, "outbounds": [` + ob("", "", "") + `]}`},
		{name: "reality without key", text: ob("", "", `"streamSettings": {"security": "reality", "realitySettings": {"serverName": "a"}}`)},
		{name: "reality serverNames", text: ob("", "", `"streamSettings": {"security": "reality", "realitySettings": {"serverNames": ["a"], "publicKey": "7xhH4b_VkliBxGulljcyPOH-bYUA2dl-XAdZAsfhk04"}}`)},
		{name: "reality over ws", text: ob("", "", `"streamSettings": {"network": "ws", "security": "reality", "realitySettings": {"serverName": "a", "publicKey": "7xhH4b_VkliBxGulljcyPOH-bYUA2dl-XAdZAsfhk04"}}`)},
		{name: "reality odd shortId", text: ob("", "", `"streamSettings": {"security": "reality", "realitySettings": {"serverName": "a", "publicKey": "7xhH4b_VkliBxGulljcyPOH-bYUA2dl-XAdZAsfhk04", "shortId": "abc"}}`)},
		{name: "reality bad key", text: ob("", "", `"streamSettings": {"security": "reality", "realitySettings": {"serverName": "a", "publicKey": "not-a-key"}}`)},
		{name: "reality spiderX", text: ob("", "", `"streamSettings": {"security": "reality", "realitySettings": {"serverName": "a", "publicKey": "7xhH4b_VkliBxGulljcyPOH-bYUA2dl-XAdZAsfhk04", "spiderX": "x"}}`)},
		{name: "reality mldsa65Verify not a key", text: ob("", "", `"streamSettings": {"security": "reality", "realitySettings": {"serverName": "a", "publicKey": "7xhH4b_VkliBxGulljcyPOH-bYUA2dl-XAdZAsfhk04", "mldsa65Verify": "abc"}}`)},
		{name: "tls alpn fromMitm with h2", text: ob("", "", tlsStream(`, "alpn": ["fromMitm", "h2"]`))},
		{name: "tls alpn fromMitm alone", text: ob("", "", tlsStream(`, "alpn": "fromMitm"`))},
		{name: "finalmask quicParams not an object", text: ob("", "", `"streamSettings": {"finalmask": {"quicParams": 5}}`)},
		{name: "reality unknown fingerprint", text: ob("", "", `"streamSettings": {"security": "reality", "realitySettings": {"serverName": "a", "publicKey": "7xhH4b_VkliBxGulljcyPOH-bYUA2dl-XAdZAsfhk04", "fingerprint": "hellofoo"}}`)},
		{name: "reality shortId too long", text: ob("", "", `"streamSettings": {"security": "reality", "realitySettings": {"serverName": "a", "publicKey": "7xhH4b_VkliBxGulljcyPOH-bYUA2dl-XAdZAsfhk04", "shortId": "0123456789abcdef01"}}`)},
		{name: "reality shortId not hex", text: ob("", "", `"streamSettings": {"security": "reality", "realitySettings": {"serverName": "a", "publicKey": "7xhH4b_VkliBxGulljcyPOH-bYUA2dl-XAdZAsfhk04", "shortId": "zz"}}`)},
		{name: "tls unknown hello fingerprint", text: ob("", "", tlsStream(`, "fingerprint": "hellofoo"`))},
		{name: "tls pinned not hex", text: ob("", "", tlsStream(`, "pinnedPeerCertSha256": "zz"`))},
		{name: "tls pinned with empty items", text: ob("", "", tlsStream(`, "pinnedPeerCertSha256": " ,e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855,,"`))},
		{name: "finalmask unknown udp type", text: ob("", "", `"streamSettings": {"network": "kcp", "finalmask": {"udp": [{"type": "bogus"}]}}`)},
		{name: "finalmask udp type on tcp", text: ob("", "", `"streamSettings": {"finalmask": {"tcp": [{"type": "noise"}]}}`)},
		{name: "id dash in the wrong place", text: ob(`"id": "b831-381d6324-4d53-ad4f-8cda48b30811"`, "", "")},
		{name: "id double dash", text: ob(`"id": "b831381d--6324-4d53-ad4f-8cda48b3081"`, "", "")},
		{name: "reality unsafe fingerprint", text: ob("", "", `"streamSettings": {"security": "reality", "realitySettings": {"serverName": "a", "publicKey": "7xhH4b_VkliBxGulljcyPOH-bYUA2dl-XAdZAsfhk04", "fingerprint": "unsafe"}}`)},
		{name: "httpupgrade Host header", text: ob("", "", `"streamSettings": {"network": "httpupgrade", "httpupgradeSettings": {"path": "/", "headers": {"Host": "a.example.com"}}}`)},
		{name: "hysteria version", text: ob("", "", `"streamSettings": {"network": "hysteria", "hysteriaSettings": {"version": 1}}`)},
		{name: "dialerProxy and proxySettings", text: cfg(ob("", "", `"proxySettings": {"tag": "direct"}, "streamSettings": {"sockopt": {"dialerProxy": "direct"}}`), `{"protocol": "freedom", "tag": "direct"}`)},
		{name: "settings not an object", text: `{"protocol": "vmess", "settings": []}`},
		{name: "vnext not an array", text: `{"protocol": "vmess", "settings": {"vnext": {}}}`},
		{name: "toml config", ext: ".toml", text: "[[outbounds]]\nprotocol = \"vmess\"\ntag = \"p\"\n[outbounds.settings]\naddress = \"a.example.com\"\nport = 443\nid = \"" + goodID + "\"\n"},
		{name: "toml config port out of range", ext: ".toml", text: "[[outbounds]]\nprotocol = \"vmess\"\n[outbounds.settings]\naddress = \"a.example.com\"\nport = 65536\nid = \"" + goodID + "\"\n"},
		{name: "toml config two users", ext: ".toml", text: "[[outbounds]]\nprotocol = \"vmess\"\n[[outbounds.settings.vnext]]\naddress = \"a.example.com\"\nport = 443\n[[outbounds.settings.vnext.users]]\nid = \"" + goodID + "\"\n[[outbounds.settings.vnext.users]]\nid = \"" + goodID + "\"\n"},
		{name: "yaml config with anchors", ext: ".yaml", text: "common: &c\n  port: 443\n  users: [{id: " + goodID + "}]\noutbounds: []\n"},
		{name: "yaml anchors merged into vnext", ext: ".yaml", text: "- protocol: vmess\n  settings:\n    vnext:\n      - &s\n        address: a.example.com\n        port: 443\n        users: [{id: " + goodID + "}]\n"},
		{name: "yaml 1.1 boolean as id", ext: ".yaml", text: "- protocol: vmess\n  settings:\n    address: a.example.com\n    port: 443\n    id: yes\n"},
		{name: "yaml list port string", ext: ".yaml", text: "- protocol: vmess\n  settings:\n    address: a.example.com\n    port: \"443\"\n    id: " + goodID + "\n"},
	}
}

// knownDisagreements are corpus cases Xray refuses but xvm passes without
// an error, with the reason. All are outside what xvm judges: the issue
// asks for other sections to be "accepted loosely" and other protocols'
// settings "not judged".
func knownDisagreements() map[string]string {
	return map[string]string{
		"bad-inbound-port.json":            "inbounds are accepted loosely (xvm lints outbounds)",
		"routing-rule-without-target.json": "routing rules are only checked for outbound tags that do not exist",
		"freedom-settings-bad.json":        "other protocols' settings are not judged",
	}
}

// stricterThanXray are corpus cases Xray's loader builds but xvm reports
// as errors, with the reason. Any other such case fails the test, so a
// new divergence is a decision, not an accident.
func stricterThanXray() map[string]string {
	return map[string]string{
		"port-0-accepted-by-xray.json":              "Xray accepts port 0 silently; nothing can be dialled there",
		"address-with-scheme-accepted-by-xray.json": "Xray takes a URL as a domain name and fails only when dialling",
		"empty-address.json":                        "Xray takes \"\" as a domain name and fails only when dialling",
		"address-with-port.json":                    "Xray takes host:port as a domain name and fails only when dialling",
		"duplicate-tags.json":                       "Build() passes; Xray fails at start-up (\"existing tag found\")",
		"routing-to-a-missing-tag.json":             "Build() passes; matched traffic fails at run time",
	}
}

type quietXrayLog struct{}

var quietXray sync.Once

func (quietXrayLog) Handle(xlog.Message) {}

func TestDifferentialAgainstXray(t *testing.T) {
	// Xray logs a deprecation warning for every VMess outbound it builds.
	xlog.RegisterHandler(quietXrayLog{})
	l := newTestLinter(t, Options{})
	type entry struct {
		name string
		data []byte
	}
	var corpus []entry
	for _, c := range differentialCorpus() {
		ext := c.ext
		if ext == "" {
			ext = ".json"
		}
		corpus = append(corpus, entry{strings.ReplaceAll(c.name, " ", "-") + ext, []byte(c.text)})
	}
	for _, dir := range []string{"../testdata/lint/ok", "../testdata/lint/err"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, f := range files {
			if strings.HasSuffix(f, ".out") || strings.Contains(filepath.Base(f), "seed") {
				continue
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			corpus = append(corpus, entry{f, data})
		}
	}
	if len(corpus) < 80 {
		t.Fatalf("corpus has %d configs, want at least 80", len(corpus))
	}
	disagree := knownDisagreements()
	stricter := stricterThanXray()
	var valid, refused int
	for _, e := range corpus {
		t.Run(filepath.Base(e.name), func(t *testing.T) {
			xerr := xrayBuild(e.name, e.data)
			ds, err := l.LintBytes(context.Background(), e.name, e.data)
			if err != nil {
				t.Fatal(err)
			}
			errs := Count(ds).Errors
			if xerr == nil {
				valid++
			} else {
				refused++
			}
			why, deliberate := disagree[filepath.Base(e.name)]
			switch {
			case xerr != nil && errs == 0 && !deliberate:
				t.Errorf("Xray refuses it (%v) but xvm reports no error; findings: %v", xerr, ds)
			case xerr == nil && errs == 0:
				// agree: valid
			case xerr == nil && errs > 0:
				if why, ok := stricter[filepath.Base(e.name)]; ok {
					t.Logf("xvm is deliberately stricter: %s", why)
				} else {
					t.Errorf("Xray builds it but xvm reports errors (add it to stricterThanXray with a reason if intended): %v", ds)
				}
			case deliberate:
				t.Logf("deliberate disagreement: %s", why)
			}
		})
	}
	t.Logf("corpus: %d configs, %d built by Xray, %d refused", len(corpus), valid, refused)
}

// TestXrayBuildHarness makes sure the harness itself tells good from bad.
func TestXrayBuildHarness(t *testing.T) {
	if err := xrayBuild("a.json", []byte(ob("", "", ""))); err != nil {
		t.Fatalf("valid outbound refused: %v", err)
	}
	if err := xrayBuild("a.json", []byte(ob("", `"address": "a", "port": "443"`, ""))); err == nil {
		t.Fatal("string port accepted")
	}
	var v any
	if err := json.Unmarshal([]byte(cfg(ob("", "", ""))), &v); err != nil {
		t.Fatal(err)
	}
}

// TestWhatXrayReadsAsAbsentIsAtMostANote checks configs Xray builds, whose
// only oddities are keys set to null (encoding/json leaves the field alone:
// absent), case-variant keys (matched case-insensitively) and a routing
// rule to the stats API's tag: they pass --fail-on warning.
func TestWhatXrayReadsAsAbsentIsAtMostANote(t *testing.T) {
	xlog.RegisterHandler(quietXrayLog{})
	l := newTestLinter(t, Options{})
	n := 0
	for _, c := range differentialCorpus() {
		if !c.buildsWithNotes {
			continue
		}
		n++
		t.Run(c.name, func(t *testing.T) {
			if err := xrayBuild("a.json", []byte(c.text)); err != nil {
				t.Fatalf("Xray refuses it: %v", err)
			}
			ds, err := l.LintBytes(context.Background(), "a.json", []byte(c.text))
			if err != nil {
				t.Fatal(err)
			}
			if Fails(ds, Warning) {
				t.Errorf("Xray builds it, but lint fails --fail-on warning: %v", ds)
			}
		})
	}
	if n < 12 {
		t.Fatalf("only %d cases", n)
	}
}

// statsAPIConfig is Xray's standard stats API set-up: the API's tag is
// a routing rule's outboundTag, though no outbound has it.
func statsAPIConfig() string {
	return `{"api": {"tag": "api", "services": ["StatsService"]}, "stats": {}, "outbounds": [` + ob("", "", "") + `], "routing": {"rules": [{"type": "field", "inboundTag": ["api"], "outboundTag": "api"}]}}`
}

// TestStatsAPITagIsAnOutbound starts Xray with the standard stats API
// set-up and checks that it registers the API's tag as an outbound, which is
// why a routing rule may name it.
func TestStatsAPITagIsAnOutbound(t *testing.T) {
	xlog.RegisterHandler(quietXrayLog{})
	c, err := serial.DecodeJSONConfig(strings.NewReader(statsAPIConfig()))
	if err != nil {
		t.Fatal(err)
	}
	pb, err := c.Build()
	if err != nil {
		t.Fatal(err)
	}
	inst, err := core.New(pb)
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.Start(); err != nil {
		t.Fatal(err)
	}
	// The instance is left running, not closed: Xray's Commander.Start
	// serves gRPC from a goroutine that reads its server without the lock
	// Close takes to set it to nil (app/commander/commander.go), so a Close
	// soon after Start can make that goroutine panic. It listens on nothing
	// (the API is reached through its outbound), and ends with the test.
	om := inst.GetFeature(outbound.ManagerType()).(outbound.Manager)
	if om.GetHandler("api") == nil {
		t.Fatal("Xray has no outbound tagged api")
	}
	l := newTestLinter(t, Options{})
	ds, err := l.LintBytes(context.Background(), "a.json", []byte(statsAPIConfig()))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 0 {
		t.Errorf("findings on the stats API set-up: %v", ds)
	}
}

// xrayFromStdin loads data the way `xray run -config stdin:` does, with
// the format left to Xray (core.LoadConfig "auto": stdin is JSON), through
// the loaders Xray registers, reading os.Stdin, which it points at data
// for the call.
func xrayFromStdin(t *testing.T, data []byte) error {
	t.Helper()
	quietXray.Do(func() { xlog.RegisterHandler(quietXrayLog{}) })
	f, err := os.CreateTemp(t.TempDir(), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	saved := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = saved }()
	_, err = core.LoadConfig("auto", cmdarg.Arg{"stdin:"})
	return err
}

// TestStdinAsXrayReadsIt lints documents as standard input and loads them
// as Xray loads a config from stdin: Xray reads stdin as JSON (with
// comments), so a YAML config there, or a pasted fragment that YAML would
// read as a mapping, is refused by both; a JSON config is built by both.
func TestStdinAsXrayReadsIt(t *testing.T) {
	l := newTestLinter(t, Options{})
	tests := []struct {
		name string
		text string
		ok   bool // Xray builds it
	}{
		{"json config", cfg(ob("", "", "")), true},
		{"json with comments", "// proxies\n" + cfg(ob("", "", "")) + " /* end */", true},
		{"fragment", "\"stats\": {}\n\"api\": {\"tag\": \"api\"}\n", false},
		{"yaml config", "outbounds:\n  - protocol: vmess\n    settings: {address: a.example.com, port: 443, id: " + goodID + "}\n", false},
		{"string port", cfg(ob("", `"address": "a.example.com", "port": "443"`, "")), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			xerr := xrayFromStdin(t, []byte(tt.text))
			if (xerr == nil) != tt.ok {
				t.Fatalf("Xray: %v; the test expects it to build: %v", xerr, tt.ok)
			}
			ds, err := l.LintBytes(context.Background(), StdinName, []byte(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			if errs := Count(ds).Errors; (errs == 0) != tt.ok {
				t.Errorf("Xray: %v; xvm: %d errors: %v", xerr, errs, ds)
			}
		})
	}
}
