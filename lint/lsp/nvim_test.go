package lsp

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	unicode16 "unicode/utf16"
)

// serverEnv makes the test binary itself the language server: Neovim
// starts it with this variable set, and TestMain then serves stdio.
const serverEnv = "XVM_LSP_TEST_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(serverEnv) == "1" {
		err := Serve(context.Background(), os.Stdin, os.Stdout, Options{Now: testNow})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// nvimScript drives Neovim's own LSP client (Neovim 0.7, Debian 12's):
// open the fixture, wait for diagnostics, ask for a hover, completions and
// code actions, apply the quick fix, and wait for the diagnostics to
// follow. It writes one tab-separated line per observation.
const nvimScript = `
local out = assert(io.open(OUT, "w"))
local function emit(...)
  local parts = {}
  for i, v in ipairs({...}) do parts[i] = (tostring(v):gsub("\n", " | "):gsub("\t", " ")) end
  out:write(table.concat(parts, "\t"), "\n")
  out:flush()
end
local ok, err = pcall(function()
  vim.cmd("edit " .. vim.fn.fnameescape(FIXTURE))
  local buf = vim.api.nvim_get_current_buf()
  local id = vim.lsp.start_client({ name = "xvm", cmd = SERVER, cmd_env = { XVM_LSP_TEST_SERVER = "1" }, root_dir = ROOT })
  assert(id, "start_client failed")
  assert(vim.lsp.buf_attach_client(buf, id), "buf_attach_client failed")
  assert(vim.wait(30000, function() return #vim.diagnostic.get(buf) > 0 end, 20), "no diagnostics")
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    emit("diagnostic", d.lnum, d.col, d.end_lnum, d.end_col, d.severity, d.source, d.code, d.message)
  end
  local uri = vim.uri_from_bufnr(buf)
  local function request(method, params)
    local res, e = vim.lsp.buf_request_sync(buf, method, params, 20000)
    assert(res, method .. ": " .. tostring(e))
    for _, r in pairs(res) do
      assert(not r.err, method .. ": " .. vim.inspect(r.err))
      return r.result
    end
  end
  local h = request("textDocument/hover", { textDocument = { uri = uri }, position = HOVER })
  emit("hover", h and h.contents.value or "none")
  local c = request("textDocument/completion", { textDocument = { uri = uri }, position = COMPLETE })
  for _, item in ipairs(c.items or c) do emit("completion", item.label) end
  local actions = request("textDocument/codeAction", {
    textDocument = { uri = uri }, range = { start = ACTION, ["end"] = ACTION }, context = { diagnostics = {} } })
  for _, a in ipairs(actions) do
    emit("action", a.kind, a.title)
    if a.kind == "quickfix" then vim.lsp.util.apply_workspace_edit(a.edit, "utf-16") end
  end
  emit("line", vim.api.nvim_buf_get_lines(buf, ACTION.line, ACTION.line + 1, false)[1])
  local fixed = vim.wait(30000, function()
    for _, d in ipairs(vim.diagnostic.get(buf)) do
      if d.code == "port-range" then return false end
    end
    return true
  end, 20)
  emit("after", fixed and "port-range gone" or "port-range still there", #vim.diagnostic.get(buf))
end)
if not ok then emit("error", err) end
out:close()
vim.cmd("qa!")
`

// nvimFixture has characters outside ASCII before the findings on their
// lines (CJK, one UTF-16 unit and three bytes each; an emoji, two units and
// four bytes), so that a server that counted columns in bytes or in
// characters instead of UTF-16 units would put Neovim's diagnostics, and
// the quick fix's edit, in the wrong place.
const nvimFixture = `{
  "outbounds": [
    {
      "protocol": "vmess",
      "Tag": "proxy",
      "settings": {"vnext": [{"address": "a.example.com", /* 代理 😀 */ "port": "443",
        "users": [{"id": "27848739-7e62-4138-9fd3-098a63964b6b", /* 用户 🔑 */ "security": "auto", "secuirty": "none"}]}]}
    }
  ]
}
`

// TestNeovim is the language server under a real editor's client: Neovim
// from Debian's packages (.ci/run installs it), headless, starting the
// xvm binary built from this tree as `xvm lsp`.
func TestNeovim(t *testing.T) {
	nvim, err := exec.LookPath("nvim")
	if err != nil {
		t.Fatal("nvim is not on PATH: install Neovim (apt-get install -y neovim; .ci/run does)")
	}
	dir := t.TempDir()
	fixture := filepath.Join(dir, "config.json")
	if err := os.WriteFile(fixture, []byte(nvimFixture), 0o644); err != nil {
		t.Fatal(err)
	}
	// The settings file turns key-case off: Neovim must not see it.
	if err := os.WriteFile(filepath.Join(dir, SettingsFile), []byte("rules:\n  key-case: off\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	xvm := filepath.Join(dir, "xvm")
	if out, err := exec.Command("go", "build", "-o", xvm, "github.com/xvmtools/xvm/cmd/xvm").CombinedOutput(); err != nil {
		t.Fatalf("go build xvm: %v\n%s", err, out)
	}
	lines := strings.Split(nvimFixture, "\n")
	// at is where text starts on line n: its byte column (what Neovim
	// reports) and its UTF-16 column (what LSP positions count).
	at := func(n int, text string) (byteCol, utf16Col int) {
		t.Helper()
		i := strings.Index(lines[n], text)
		if i < 0 {
			t.Fatalf("line %d lacks %q", n, text)
		}
		return i, len(unicode16.Encode([]rune(lines[n][:i])))
	}
	portByte, portUnit := at(5, `"443"`)
	keyByte, _ := at(6, `"secuirty"`)
	_, securityUnit := at(6, `"security"`)
	_, autoUnit := at(6, `"auto"`)
	outFile := filepath.Join(dir, "out.tsv")
	lua := fmt.Sprintf("OUT = %q\nFIXTURE = %q\nROOT = %q\nSERVER = { %q, \"lsp\" }\n", outFile, fixture, dir, xvm) +
		fmt.Sprintf("HOVER = { line = 6, character = %d }\n", securityUnit+2) + // on "security"
		fmt.Sprintf("COMPLETE = { line = 6, character = %d }\n", autoUnit+3) + // inside the quotes of "auto"
		fmt.Sprintf("ACTION = { line = 5, character = %d }\n", portUnit+2) + // on "443"
		nvimScript
	script := filepath.Join(dir, "test.lua")
	if err := os.WriteFile(script, []byte(lua), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, nvim, "--headless", "--noplugin", "-u", "NONE", "-i", "NONE", "-n", "-c", "luafile "+script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"XDG_CONFIG_HOME="+filepath.Join(dir, "cfg"), "XDG_DATA_HOME="+filepath.Join(dir, "data"),
		"XDG_STATE_HOME="+filepath.Join(dir, "state"), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"),
		"NVIM_LOG_FILE="+filepath.Join(dir, "nvim.log"))
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	runErr := cmd.Run()
	data, _ := os.ReadFile(outFile)
	out := string(data)
	t.Logf("Neovim saw:\n%s", out)
	if runErr != nil || strings.Contains(out, "error\t") || out == "" {
		log, _ := os.ReadFile(filepath.Join(dir, "nvim.log"))
		t.Fatalf("nvim: %v\noutput:\n%s\nstderr:\n%s\nlog:\n%s", runErr, out, stderr.String(), log)
	}
	var diags, hovers, completions, actions []string
	var line, after string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(l, "\t")
		switch f[0] {
		case "diagnostic":
			diags = append(diags, strings.Join(f[1:], " "))
		case "hover":
			hovers = append(hovers, f[1])
		case "completion":
			completions = append(completions, f[1])
		case "action":
			actions = append(actions, f[1]+" "+f[2])
		case "line":
			line = f[1]
		case "after":
			after = f[1]
		}
	}
	wantDiags := []string{
		// line col end_line end_col (bytes, as Neovim keeps them) severity source code message
		fmt.Sprintf(`5 %d 5 %d 1 xvm port-range port is the string "443"; Xray refuses a string here | hint: remove the quotes: 443`, portByte, portByte+5),
		fmt.Sprintf("6 %d 6 %d 2 xvm unknown-key unknown key `secuirty` (did you mean `security`?); Xray ignores it silently | hint: rename it to `security`", keyByte, keyByte+10),
	}
	if strings.Join(diags, "\n") != strings.Join(wantDiags, "\n") {
		t.Errorf("diagnostics in Neovim:\n%s\nwant (key-case is off in .xvm.yaml):\n%s", strings.Join(diags, "\n"), strings.Join(wantDiags, "\n"))
	}
	if len(hovers) != 1 || !strings.Contains(hovers[0], "**`security`**") || !strings.Contains(hovers[0], "加密方式，客户端将使用配置的加密方式发送数据") {
		t.Errorf("hover in Neovim: %q", hovers)
	}
	if len(completions) == 0 || !contains(completions, "aes-128-gcm") || !contains(completions, "chacha20-poly1305") {
		t.Errorf("completions in Neovim: %q", completions)
	}
	if !contains(actions, "quickfix write the port as the number 443") {
		t.Errorf("code actions in Neovim: %q", actions)
	}
	if want := strings.Replace(lines[5], `"443"`, "443", 1); line != want {
		t.Errorf("after applying the quick fix the line is\n%q\nwant\n%q", line, want)
	}
	if after != "port-range gone" {
		t.Errorf("diagnostics after the fix: %q", after)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
