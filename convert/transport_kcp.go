package convert

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/xvmtools/xvm/schema/conf"
)

// kcpPart is mKCP: the legacy HeaderType (a packet header) and Seed, the
// DNS header's domain in Host, MTU and TTI. Xray v1.260327.0 takes header
// and seed only as finalmask.udp masks; mihomo's and sing-box's vmess have
// no mKCP.
var kcpPart = &transportPart{
	readV2RayN: func(n *fullNode, typ, host, path string, _ warnFunc) {
		n.HeaderType = typ
		n.Seed = path
		n.Host = host
	},
	writeV2RayN: func(n *fullNode, l *v2raynLink, warn warnFunc) {
		l.Type = orNone(n.HeaderType)
		l.Host, l.Path = n.Host, n.Seed
		if n.MTU != 0 || n.TTI != 0 {
			warn("mtu/tti", "v2rayN's link has no key for them; not carried")
		}
		n.warnKCPTuning(warn)
	},
	readURI: func(n *fullNode, q *query, _ warnFunc) error {
		n.HeaderType = q.get("headerType")
		n.Host = q.get("host")
		n.Seed = q.get("seed")
		var ok1, ok2 bool
		n.MTU, ok1 = intOf(q.get("mtu"))
		n.TTI, ok2 = intOf(q.get("tti"))
		if !ok1 || !ok2 {
			return errField("mtu/tti", "not a number; want integers")
		}
		return nil
	},
	writeURI: func(n *fullNode, add func(k, v string), warn warnFunc) {
		n.warnKCPTuning(warn)
		add("headerType", n.HeaderType)
		add("host", n.Host)
		add("seed", n.Seed)
		if n.MTU != 0 {
			add("mtu", strconv.Itoa(n.MTU))
		}
		if n.TTI != 0 {
			add("tti", strconv.Itoa(n.TTI))
		}
	},
	readXray: func(n *fullNode, ss *conf.StreamSettings, _ warnFunc) error {
		k := ss.KCPSettings
		if k == nil {
			return nil
		}
		n.MTU, n.TTI = k.MTU, k.TTI
		n.UplinkCapacity, n.DownlinkCapacity, n.WriteBufferSize = k.UplinkCapacity, k.DownlinkCapacity, k.WriteBufferSize
		n.Congestion = k.Congestion
		n.Seed = k.Seed
		if len(k.Header) > 0 {
			var h struct {
				Type   string `json:"type"`
				Domain string `json:"domain"`
			}
			_ = json.Unmarshal(k.Header, &h)
			n.HeaderType, n.Host = h.Type, h.Domain
		}
		return nil
	},
	writeXray: func(n *fullNode, ss *conf.StreamSettings, warn warnFunc) error {
		ss.Network = "kcp"
		if n.TTI != 0 && (n.TTI < 10 || n.TTI > 5000) {
			return refuse("tti", "%d is out of Xray's range 10-5000", n.TTI)
		}
		if n.MTU != 0 || n.TTI != 0 || n.UplinkCapacity != nil || n.DownlinkCapacity != nil || n.WriteBufferSize != nil || n.Congestion {
			ss.KCPSettings = &conf.KCPSettings{MTU: n.MTU, TTI: n.TTI, UplinkCapacity: n.UplinkCapacity, DownlinkCapacity: n.DownlinkCapacity,
				WriteBufferSize: n.WriteBufferSize, Congestion: n.Congestion}
		}
		if len(n.FinalMask) > 0 {
			if n.HeaderType != "" || n.Seed != "" {
				warn("kcp header/seed", "superseded by the link's finalmask; not carried")
			}
			return nil
		}
		fm, err := n.kcpMask()
		if err != nil {
			return err
		}
		ss.FinalMask = fm
		return nil
	},
}

// kcpHeaderMasks maps legacy mKCP header names to FinalMask UDP mask types
// (docs/formats.md#mkcp-header-and-seed-as-finalmask).
var kcpHeaderMasks = map[string]string{
	"srtp": "header-srtp", "utp": "header-utp", "wechat-video": "header-wechat",
	"dtls": "header-dtls", "wireguard": "header-wireguard", "dns": "header-dns",
}

// kcpMask expresses a legacy mKCP header and seed as FinalMask UDP masks
// (docs/formats.md#mkcp-header-and-seed-as-finalmask): outermost header
// first, then the KCP obfuscation, as the old wire layout
// [header][sealed segment] was.
func (n *fullNode) kcpMask() (json.RawMessage, error) {
	var masks []maskJSON
	if h := strings.ToLower(n.HeaderType); h != "" {
		typ, ok := kcpHeaderMasks[h]
		if !ok {
			return nil, refuse("headerType", "unknown mKCP header %q; want none, srtp, utp, wechat-video, dtls, wireguard or dns", clip(h))
		}
		m := maskJSON{Type: typ}
		if h == "dns" {
			m.Settings, _ = json.Marshal(map[string]string{"domain": n.Host})
		}
		masks = append(masks, m)
	}
	if n.Seed != "" {
		s, _ := json.Marshal(map[string]string{"password": n.Seed})
		masks = append(masks, maskJSON{Type: "mkcp-aes128gcm", Settings: s})
	} else {
		masks = append(masks, maskJSON{Type: "mkcp-original"})
	}
	return json.Marshal(finalMaskJSON{UDP: masks})
}

// kcpNote is the information ToXray gives when it wrote a legacy header
// or seed as masks.
func (n *fullNode) kcpNote() (Diagnostic, bool) {
	if n.network() != "kcp" || len(n.FinalMask) > 0 || (n.HeaderType == "" && n.Seed == "") {
		return Diagnostic{}, false
	}
	return n.diag(Info, "kcp header/seed", "written as finalmask.udp masks (Xray v26 removed kcpSettings.header and seed)"), true
}

// warnKCPTuning says that a link, which has no keys for them, drops the
// node's mKCP capacities, congestion and write buffer.
func (n *fullNode) warnKCPTuning(warn warnFunc) {
	if n.UplinkCapacity != nil || n.DownlinkCapacity != nil || n.WriteBufferSize != nil || n.Congestion {
		warn("uplinkCapacity/downlinkCapacity/congestion/writeBufferSize", "a link has no key for them; not carried")
	}
}
