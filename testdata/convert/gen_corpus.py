#!/usr/bin/env python3
"""Builds corpus.json: share links of every dialect and quirk with the
result expected from the rules in docs/formats.md (hand-written here, not
taken from xvm's output). Run: python3 gen_corpus.py > corpus.json"""
import base64, json

U = "b831bfb3-e84c-4647-a953-bbdd6e6d6390"
cases = []

def b64(s, urlsafe=False, pad=True):
    b = s.encode() if isinstance(s, str) else s
    e = base64.urlsafe_b64encode(b) if urlsafe else base64.b64encode(b)
    e = e.decode()
    return e if pad else e.rstrip("=")

def v2(obj, **kw):
    return "vmess://" + b64(json.dumps(obj, ensure_ascii=False), **kw)

def case(name, link, want=None, error=None, warn=None, xray="ok", lossless=True):
    c = {"name": name, "link": link}
    if want is not None: c["want"] = want
    if error is not None: c["error"] = error
    if warn: c["warn"] = warn
    if error is None: c["xray"] = xray
    cases.append(c)

base = {"v": "2", "ps": "basic", "add": "example.com", "port": "443", "id": U, "aid": "0",
        "scy": "auto", "net": "ws", "type": "none", "host": "cdn.example.com", "path": "/ws", "tls": "tls"}
W = {"Server": "example.com", "Port": 443, "UUID": U, "Network": "ws", "Host": "cdn.example.com", "Path": "/ws", "Security": "tls", "Cipher": "auto"}

def d(o, **kw):
    x = dict(o); x.update(kw); return x

# --- v2rayN base64 JSON -------------------------------------------------------
case("v2rayn ws tls standard padded", v2(base), d(W, Name="basic"))
case("v2rayn url-safe alphabet without padding", v2(d(base, ps="safe?>>"), urlsafe=True, pad=False), d(W, Name="safe?>>"))
wrapped = b64(json.dumps(d(base, ps="wrapped")))
case("v2rayn payload wrapped at 76 columns with CRLF", "vmess://" + "\r\n".join(wrapped[i:i+76] for i in range(0, len(wrapped), 76)), d(W, Name="wrapped"))
case("v2rayn BOM before the JSON", "vmess://" + b64(b"\xef\xbb\xbf" + json.dumps(d(base, ps="bom")).encode()), d(W, Name="bom"))
case("v2rayn numbers as numbers", v2(d(base, ps="nums", port=443, aid=0, v=2)), d(W, Name="nums"))
case("v2rayn v missing, host;path packing", v2({"ps": "v1", "add": "example.com", "port": "80", "id": U, "aid": "0", "net": "ws", "host": "h.example.com;/old", "tls": ""}),
     {"Network": "ws", "Host": "h.example.com", "Path": "/old", "Security": ""}, warn=["host"])
case("v2rayn v 1 with a path keeps host", v2({"v": "1", "ps": "v1p", "add": "example.com", "port": "80", "id": U, "aid": "0", "net": "ws", "host": "h.example.com", "path": "/p", "tls": ""}),
     {"Host": "h.example.com", "Path": "/p"})
case("v2rayn tls empty string", v2(d(base, ps="notls", tls="")), {"Security": ""})
case("v2rayn tls \"0\"", v2(d(base, ps="tls0", tls="0")), {"Security": ""})
case("v2rayn tls as JSON true (not TLS in v2rayN or mihomo)", v2(d(base, ps="tlstrue", tls=True)), {"Security": ""}, warn=["tls"])
case("v2rayn tls none", v2(d(base, ps="tlsnone", tls="none")), {"Security": ""})
case("v2rayn reality with unofficial pbk/sid", v2(d(base, ps="rea", net="tcp", tls="reality", sni="www.microsoft.com", pbk="Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw", sid="6ba85179e30d4fc2", fp="chrome")),
     {"Security": "reality", "PublicKey": "Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw", "ShortID": "6ba85179e30d4fc2", "SNI": "www.microsoft.com"}, warn=["pbk", "sid"])
case("v2rayn non-ASCII name", v2(d(base, ps="香港 🇭🇰 01")), {"Name": "香港 🇭🇰 01"})
case("v2rayn #remark appended, ps empty", v2(d(base, ps="")) + "#from-fragment", {"Name": "from-fragment"})
case("v2rayn trailing comment after a space", v2(d(base, ps="cmt")) + " # free node", {"Name": "cmt"})
case("v2rayn percent-encoded payload", "vmess://" + b64(json.dumps(d(base, ps="pct"))).replace("=", "%3D"), {"Name": "pct"})
case("v2rayn plain JSON without base64", "vmess://" + json.dumps(d(base, ps="plain #1")), {"Name": "plain #1"})
case("v2rayn grpc multi with authority", v2(d(base, ps="grpc", net="grpc", type="multi", host="auth.example.com", path="svc")),
     {"Network": "grpc", "GRPCMode": "multi", "ServiceName": "svc", "Authority": "auth.example.com"})
case("v2rayn grpc type none means gun", v2(d(base, ps="grpc2", net="grpc", type="none", host="", path="svc")), {"Network": "grpc", "GRPCMode": "", "ServiceName": "svc"})
case("v2rayn kcp wechat-video with seed", v2(d(base, ps="kcp", net="kcp", type="wechat-video", host="", path="s33d", tls="")),
     {"Network": "kcp", "HeaderType": "wechat-video", "Seed": "s33d"})
case("v2rayn kcp dns header domain", v2(d(base, ps="kcpdns", net="kcp", type="dns", host="dns.example.com", path="", tls="")),
     {"Network": "kcp", "HeaderType": "dns", "Host": "dns.example.com"})
case("v2rayn kcp plain", v2(d(base, ps="kcpplain", net="kcp", type="none", host="", path="", tls="")), {"Network": "kcp", "HeaderType": "", "Seed": ""})
case("v2rayn h2 (removed from Xray)", v2(d(base, ps="h2", net="h2", host="a.example.com,b.example.com", path="/h2")),
     {"Network": "h2", "Host": "a.example.com,b.example.com", "Path": "/h2"})
case("v2rayn quic (removed from Xray)", v2(d(base, ps="quic", net="quic", type="srtp", host="aes-128-gcm", path="k3y")),
     {"Network": "quic", "QUICSecurity": "aes-128-gcm", "QUICKey": "k3y", "HeaderType": "srtp"})
case("v2rayn xhttp packet-up", v2(d(base, ps="xh", net="xhttp", type="packet-up", path="/xh")), {"Network": "xhttp", "XHTTPMode": "packet-up", "Path": "/xh"})
case("v2rayn splithttp old name", v2(d(base, ps="sh", net="splithttp", type="auto", path="/sh")), {"Network": "xhttp", "XHTTPMode": ""})
case("v2rayn httpupgrade with early data", v2(d(base, ps="hu", net="httpupgrade", path="/up?ed=2048")), {"Network": "httpupgrade", "Path": "/up?ed=2048"})
case("v2rayn tcp http header with lists", v2(d(base, ps="tcphttp", net="tcp", type="http", host="a.example.com,b.example.com", path="/x,/y", tls="")),
     {"Network": "raw", "HeaderType": "http", "Host": "a.example.com,b.example.com", "Path": "/x,/y"})
case("v2rayn raw spelled raw", v2(d(base, ps="raw", net="raw", host="", path="", tls="")), {"Network": "raw"})
case("v2rayn cipher aes-128-gcm", v2(d(base, ps="gcm", scy="aes-128-gcm")), {"Cipher": "aes-128-gcm"})
case("v2rayn cipher zero", v2(d(base, ps="zero", scy="zero")), {"Cipher": "zero"})
case("v2rayn security alias for scy", v2({k: v for k, v in d(base, ps="alias", security="chacha20-poly1305").items() if k != "scy"}),
     {"Cipher": "chacha20-poly1305"}, warn=["security"])
case("v2rayn unknown cipher becomes auto", v2(d(base, ps="rc4", scy="rc4-md5")), {"Cipher": "auto"}, warn=["scy"])
case("v2rayn alpn and fingerprint", v2(d(base, ps="alpn", alpn="h2,http/1.1", fp="firefox", sni="sni.example.com")),
     {"ALPN": ["h2", "http/1.1"], "Fingerprint": "firefox", "SNI": "sni.example.com"})
case("v2rayn insecure 1", v2(d(base, ps="insec", insecure="1")), {"Insecure": True})
case("v2rayn allowInsecure alias", v2(d(base, ps="insec2", allowInsecure=True)), {"Insecure": True}, warn=["allowinsecure"])
case("v2rayn pcs and vcn", v2(d(base, ps="pin", pcs="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", vcn="cdn.example.com")),
     {"PCS": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "VCN": "cdn.example.com"})
case("v2rayn alterId 64", v2(d(base, ps="aid", aid="64")), {"AlterID": 64})
case("v2rayn upper-case UUID", v2(d(base, ps="upper", id=U.upper())), {"UUID": U.upper()})
case("v2rayn UUID without dashes", v2(d(base, ps="nodash", id=U.replace("-", ""))), {"UUID": U.replace("-", "")})
case("v2rayn short custom id", v2(d(base, ps="short", id="hello")), {"UUID": "hello"})
case("v2rayn IPv6 address in brackets", v2(d(base, ps="v6", add="[2001:db8::1]", tls="", host="", net="tcp", path="")), {"Server": "2001:db8::1"})
case("v2rayn unknown net read as tcp", v2(d(base, ps="weird", net="domainsocket", tls="", host="", path="")), {"Network": "raw"}, warn=["net"])
case("v2rayn unknown extra key", v2(d(base, ps="extra", foo="bar")), {"Name": "extra"}, warn=["foo"])
# a '+' that turned into a space on its way through a form decoder
for i in range(200):
    s = b64(json.dumps(d(base, ps="plus%d" % i)))
    if "+" in s:
        case("v2rayn '+' turned into spaces", "vmess://" + s.replace("+", " "), {"Name": "plus%d" % i})
        break
case("error: not base64", "vmess://!!!not-base64!!!", error="base64")
case("error: base64 of text that is not JSON", "vmess://" + b64("hello world"), error="json")
case("error: missing add", v2({k: v for k, v in base.items() if k != "add"}), error="add")
case("error: port 0", v2(d(base, port="0")), error="port")
case("error: port 99999", v2(d(base, port="99999")), error="port")
case("error: port not a number", v2(d(base, port="https")), error="port")
case("error: id of 31 bytes", v2(d(base, id="a" * 31)), error="id")
case("error: id with non-hex", v2(d(base, id="zzzzzzzz-e84c-4647-a953-bbdd6e6d6390")), error="id")
case("error: id missing", v2({k: v for k, v in base.items() if k != "id"}), error="id")
case("error: truncated base64", "vmess://" + b64(json.dumps(base))[:-3] + "A", error=None if False else "json")

# --- Xray standard (#716) ---------------------------------------------------------
S = "vmess://" + U + "@example.com:443"
case("uri ws tls full", S + "?type=ws&security=tls&host=cdn.example.com&path=%2Fws&sni=sni.example.com&fp=chrome&alpn=h2%2Chttp%2F1.1#uri%20ws",
     {"Name": "uri ws", "Network": "ws", "Security": "tls", "Host": "cdn.example.com", "Path": "/ws", "SNI": "sni.example.com", "Fingerprint": "chrome", "ALPN": ["h2", "http/1.1"]})
case("uri '+' in a value stays a plus", S + "?type=ws&path=/a+b#plus", {"Path": "/a+b"})
case("uri ';' in a value is kept", S + "?type=ws&path=/a;b#semi", {"Path": "/a;b"})
case("uri invalid % escape in the remark", S + "?type=tcp#100%off", {"Name": "100%off"})
case("uri grpc multi with authority", S + "?type=grpc&security=tls&serviceName=my%2Fsvc&mode=multi&authority=auth.example.com#g",
     {"Network": "grpc", "ServiceName": "my/svc", "GRPCMode": "multi", "Authority": "auth.example.com"})
case("uri kcp dns header seed mtu tti", S + "?type=kcp&headerType=dns&host=dns.example.com&seed=s33d&mtu=1350&tti=20#k",
     {"Network": "kcp", "HeaderType": "dns", "Host": "dns.example.com", "Seed": "s33d", "MTU": 1350, "TTI": 20})
case("uri xhttp stream-up with extra", S + "?type=xhttp&security=tls&path=%2Fx&mode=stream-up&extra=%7B%22xPaddingBytes%22%3A%22100-1000%22%7D#x",
     {"Network": "xhttp", "XHTTPMode": "stream-up", "Path": "/x", "XHTTPExtra": {"xPaddingBytes": "100-1000"}})
case("uri reality raw", S + "?type=tcp&security=reality&sni=www.microsoft.com&fp=chrome&pbk=Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw&sid=6ba85179e30d4fc2&spx=%2F#r",
     {"Security": "reality", "PublicKey": "Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw", "ShortID": "6ba85179e30d4fc2", "SpiderX": "/"})
case("uri reality with ws cannot be Xray", S + "?type=ws&security=reality&pbk=Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw#rw",
     {"Security": "reality", "Network": "ws"}, xray="fail")
case("uri IPv6 host", "vmess://" + U + "@[2001:db8::2]:8443?type=tcp#v6", {"Server": "2001:db8::2", "Port": 8443})
case("uri duplicate parameter", S + "?type=ws&path=%2Fone&path=%2Ftwo#dup", {"Path": "/one"}, warn=["path"])
case("uri empty encryption", S + "?type=tcp&encryption=#enc", {"Cipher": "auto"}, warn=["encryption"])
case("uri encryption chacha", S + "?type=tcp&encryption=chacha20-poly1305#c", {"Cipher": "chacha20-poly1305"})
case("uri VLESS flow is ignored", S + "?type=tcp&flow=xtls-rprx-vision#f", {"Network": "raw"}, warn=["flow"])
case("uri type=http is HTTP/2", S + "?type=http&security=tls&host=a.example.com&path=%2Fh#h", {"Network": "h2"})
case("uri ws early data in the path", S + "?type=ws&path=%2Fws%3Fed%3D2048#ed", {"Path": "/ws?ed=2048"})
case("uri upper-case scheme", "VMESS://" + U + "@example.com:443?type=tcp#up", {"Name": "up"})
case("uri insecure", S + "?type=ws&security=tls&allowInsecure=1#i", {"Insecure": True})
case("uri finalmask fm", S + "?type=kcp&fm=%7B%22udp%22%3A%5B%7B%22type%22%3A%22salamander%22%2C%22settings%22%3A%7B%22password%22%3A%22x%22%7D%7D%5D%7D#fm",
     {"Network": "kcp", "FinalMask": {"udp": [{"type": "salamander", "settings": {"password": "x"}}]}})
case("uri ech and pcs", S + "?type=tcp&security=tls&sni=e.example.com&ech=AEX%2BDQBBpQAgACB%2Fabc&pcs=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855#ech",
     {"ECH": "AEX+DQBBpQAgACB/abc"}, xray="any")
case("error: uri port out of range", "vmess://" + U + "@example.com:99999?type=tcp", error="port")
case("error: uri bad id", "vmess://not-a-uuid-but-far-too-long-to-be-a-name-xx@example.com:443?type=tcp", error="uuid")
case("error: uri missing port", "vmess://" + U + "@example.com?type=tcp", error="port")
PBK = "A" * 43
case("uri unknown fingerprint is kept on the node (Xray's emitter drops it)", "vmess://" + U + "@example.com:443?type=tcp&security=tls&fp=hellofoo", {"Fingerprint": "hellofoo"})
case("error: uri dash misplaced in id", "vmess://b831-381d6324-4d53-ad4f-8cda48b30811@example.com:443?type=tcp", error="uuid")
case("error: uri REALITY key not 32 bytes", "vmess://" + U + "@example.com:443?type=tcp&security=reality&sni=a.example.com&pbk=abc", error="pbk")
case("error: uri REALITY shortId not hex", "vmess://" + U + "@example.com:443?type=tcp&security=reality&sni=a.example.com&pbk=" + PBK + "&sid=zz", error="sid")
case("error: uri REALITY shortId odd length", "vmess://" + U + "@example.com:443?type=tcp&security=reality&sni=a.example.com&pbk=" + PBK + "&sid=abc", error="sid")
case("error: uri REALITY shortId too long", "vmess://" + U + "@example.com:443?type=tcp&security=reality&sni=a.example.com&pbk=" + PBK + "&sid=0123456789abcdef01", error="sid")
case("error: uri pinned hash not hex", "vmess://" + U + "@example.com:443?type=tcp&security=tls&pcs=zz", error="pcs")
case("error: uri unknown finalmask type", "vmess://" + U + "@example.com:443?type=tcp&fm=%7B%22udp%22%3A%5B%7B%22type%22%3A%22bogus%22%7D%5D%7D", error="fm")
case("error: v2rayn dash misplaced in id", v2(d(base, id="b831-381d6324-4d53-ad4f-8cda48b30811")), error="id")

# --- v2fly Draft 1 --------------------------------------------------------------------
case("draft1 ws+tls", "vmess://ws+tls:" + U + "-0@example.com:443/?path=%2Fws&host=cdn.example.com&tlsServerName=sni.example.com#d1",
     {"Name": "d1", "Network": "ws", "Security": "tls", "Path": "/ws", "Host": "cdn.example.com", "SNI": "sni.example.com", "AlterID": 0})
case("draft1 kcp with alterId", "vmess://kcp:" + U + "-4@example.com:443/?type=srtp&seed=s#d2",
     {"Network": "kcp", "HeaderType": "srtp", "Seed": "s", "AlterID": 4})

# --- Shadowrocket / Kitsunebi / Quantumult ---------------------------------------------
case("shadowrocket websocket tls", "vmess://" + b64("auto:" + U + "@example.com:443", pad=False) + "?remarks=Rocket%20One&obfs=websocket&path=/ws&obfsParam=cdn.example.com&tls=1&peer=sni.example.com&alterId=0",
     {"Name": "Rocket One", "Network": "ws", "Path": "/ws", "Host": "cdn.example.com", "Security": "tls", "SNI": "sni.example.com"})
case("shadowrocket obfsParam as JSON headers", "vmess://" + b64("chacha20-poly1305:" + U + "@example.com:80") + "?remarks=R2&obfs=websocket&path=/&obfsParam=%7B%22Host%22%3A%22h.example.com%22%7D",
     {"Host": "h.example.com", "Cipher": "chacha20-poly1305"})
case("shadowrocket bare without query", "vmess://" + b64("auto:" + U + "@example.com:10086"), {"Server": "example.com", "Port": 10086, "Name": "example.com:10086"})
case("kitsunebi query style", "vmess://" + b64("aes-128-gcm:" + U + "@example.com:443") + "?network=ws&wsPath=/v2&wsHost=h.example.com&aid=0&tls=1&remark=Kit",
     {"Name": "Kit", "Network": "ws", "Path": "/v2", "Host": "h.example.com", "Security": "tls", "Cipher": "aes-128-gcm"})
case("kitsunebi vmess1", "vmess1://" + U + "@example.com:443/v2path?network=ws&tls=true&ws.host=h.example.com#K1",
     {"Name": "K1", "Network": "ws", "Path": "/v2path", "Host": "h.example.com", "Security": "tls"})
case("quantumult base64 line", "vmess://" + b64('Q1 = vmess, example.com, 443, chacha20-ietf-poly1305, "' + U + '", group=G, over-tls=true, tls-host=sni.example.com, certificate=1, obfs=ws, obfs-path="/p", obfs-header="Host: h.example.com[Rr][Nn]User-Agent: ua"'),
     {"Name": "Q1", "Cipher": "chacha20-poly1305", "Security": "tls", "SNI": "sni.example.com", "Network": "ws", "Path": "/p", "Host": "h.example.com", "Headers": {"User-Agent": "ua"}})

case("v2rayn payload with a query glued on", v2(d(base, ps="glued")) + "?remarks=x", {"Name": "glued"}, warn=["query"])

# --- client config lines ---------------------------------------------------------------------
case("quantumult x wss", "vmess=example.com:443, method=aes-128-gcm, password=" + U + ", obfs=wss, obfs-host=cdn.example.com, obfs-uri=/p, tls-verification=true, fast-open=false, udp-relay=false, aead=true, tag=QX",
     {"Name": "QX", "Network": "ws", "Security": "tls", "Host": "cdn.example.com", "Path": "/p", "Cipher": "aes-128-gcm", "AlterID": 0})
case("quantumult x aead=false", "vmess=example.com:80, method=none, password=" + U + ", aead=false, tag=QX2", {"AlterID": 1, "Cipher": "none"}, warn=["aead"])
case("surge ws tls", 'Surge1 = vmess, example.com, 443, username=' + U + ', ws=true, ws-path=/p, ws-headers=Host:"cdn.example.com"|User-Agent:"ua", tls=true, sni=sni.example.com, vmess-aead=true',
     {"Name": "Surge1", "Network": "ws", "Path": "/p", "Host": "cdn.example.com", "Headers": {"User-Agent": "ua"}, "Security": "tls", "SNI": "sni.example.com", "AlterID": 0})
case("surge without vmess-aead", "Surge2 = vmess, example.com, 443, username=" + U, {"AlterID": 1}, warn=["vmess-aead"])
case("loon ws over-tls", 'Loon1 = vmess, example.com, 443, auto, "' + U + '", transport=ws, path=/p, host=cdn.example.com, over-tls=true, sni=sni.example.com, skip-cert-verify=false',
     {"Name": "Loon1", "Network": "ws", "Path": "/p", "Host": "cdn.example.com", "Security": "tls", "SNI": "sni.example.com", "Insecure": False})
case("loon tcp http obfuscation", 'Loon2 = vmess, example.com, 80, aes-128-gcm, "' + U + '", transport=http, path=/, host=h.example.com',
     {"HeaderType": "http", "Host": "h.example.com", "Path": "/"})

# --- not VMess / garbage ---------------------------------------------------------------------
case("error: ss link is not VMess", "ss://YWVzLTEyOC1nY206cGFzcw@example.com:8388#ss", error="scheme")
case("error: plain word", "hello", error="link")
case("error: empty vmess", "vmess://", error="link")

print(json.dumps(cases, ensure_ascii=False, indent=1))
