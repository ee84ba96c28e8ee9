package schema

import "bytes"

// Comment is one comment in a source: the byte offsets of its opening
// marker ("//", "/*", "#") and just past its last byte (a line comment
// ends before its newline).
type Comment struct {
	Start, End int
}

// Comments returns the comments of src read as format f, in source
// order: only text the format's reader treats as a comment, never text
// inside a string that merely looks like one. It works on sources that do
// not parse, so that lint can honour a comment next to a syntax error.
func Comments(f Format, src []byte) []Comment {
	switch f {
	case YAML:
		return yamlComments(src)
	case TOML:
		return tomlComments(src)
	}
	var out []Comment
	scanJSONComments(src, func(c Comment) { out = append(out, c) })
	return out
}

// scanJSONComments calls found for every comment Xray's config reader
// (infra/conf/json.Reader) removes: `//…` and `#…` to the end of the line,
// `/*…*/`, with text in "…" and '…' left alone. An unterminated block
// comment runs to the end of src. loneSlash reports a "/" at the very end
// outside any string, which Xray drops as well.
func scanJSONComments(src []byte, found func(Comment)) (loneSlash bool) {
	const (
		content = iota
		escape
		dquote
		dquoteEscape
		squote
		squoteEscape
		line
		slash
		multi
		multiStar
	)
	state, start := content, 0
	for i, x := range src {
		switch state {
		case content:
			switch x {
			case '"':
				state = dquote
			case '\'':
				state = squote
			case '\\':
				state = escape
			case '#':
				state, start = line, i
			case '/':
				state = slash
			}
		case escape:
			state = content
		case dquote:
			switch x {
			case '"':
				state = content
			case '\\':
				state = dquoteEscape
			}
		case dquoteEscape:
			state = dquote
		case squote:
			switch x {
			case '\'':
				state = content
			case '\\':
				state = squoteEscape
			}
		case squoteEscape:
			state = squote
		case line:
			if x == '\n' {
				found(Comment{start, i})
				state = content
			}
		case slash:
			switch x {
			case '/':
				state, start = line, i-1
			case '*':
				state, start = multi, i-1
			default:
				// Xray emits "/" and x and goes back to plain content,
				// even when x is a quote.
				state = content
			}
		case multi:
			if x == '*' {
				state = multiStar
			}
		case multiStar:
			switch x {
			case '/':
				found(Comment{start, i + 1})
				state = content
			case '*':
			default:
				state = multi
			}
		}
	}
	if state == line || state == multi || state == multiStar {
		found(Comment{start, len(src)})
	}
	return state == slash
}

// tomlComments finds the comments of a TOML source: "#" to the end of its
// line, outside basic ("…", """…""") and literal ('…', ”'…”') strings.
func tomlComments(src []byte) []Comment {
	var out []Comment
	for i := 0; i < len(src); {
		switch src[i] {
		case '#':
			end := bytes.IndexByte(src[i:], '\n')
			if end < 0 {
				end = len(src) - i
			}
			out = append(out, Comment{i, i + end})
			i += end
		case '"', '\'':
			i = tomlStringEnd(src, i)
		default:
			i++
		}
	}
	return out
}

// tomlStringEnd returns the offset just past the string that opens at i.
// A single-line string that meets a newline ends there (the parser
// reports it; the comments after it are still found).
func tomlStringEnd(src []byte, i int) int {
	q := src[i]
	escapes := q == '"'
	if bytes.HasPrefix(src[i:], []byte{q, q, q}) {
		for j := i + 3; j < len(src); j++ {
			if escapes && src[j] == '\\' {
				j++
				continue
			}
			if bytes.HasPrefix(src[j:], []byte{q, q, q}) {
				// Up to two more quotes may close it: """a""""" ends with "".
				k := j + 3
				for n := 0; n < 2 && k < len(src) && src[k] == q; n++ {
					k++
				}
				return k
			}
		}
		return len(src)
	}
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			if escapes {
				j++
			}
		case q:
			return j + 1
		case '\n':
			return j
		}
	}
	return len(src)
}

// yamlComments finds the comments of a YAML source: "#" at the start of a
// line or after a space or tab, outside quoted scalars (which may span
// lines) and outside the content of block scalars (| and >).
func yamlComments(src []byte) []Comment {
	var out []Comment
	const (
		plain = iota
		dquote
		squote
	)
	state := plain
	block := -2   // inside a block scalar: its content is indented more than this
	flow := 0     // depth of [ ] and { }
	start := true // at the start of a node: a quote or | > opens a scalar
	node := 0     // the column of the token that may become a key
	for lineStart := 0; lineStart < len(src); {
		lineEnd := bytes.IndexByte(src[lineStart:], '\n')
		if lineEnd < 0 {
			lineEnd = len(src)
		} else {
			lineEnd += lineStart
		}
		next := lineEnd + 1
		indent := 0
		for lineStart+indent < lineEnd && src[lineStart+indent] == ' ' {
			indent++
		}
		if block > -2 {
			rest := bytes.TrimRight(src[lineStart+indent:lineEnd], " \t\r")
			marker := indent == 0 && (bytes.HasPrefix(rest, []byte("---")) || bytes.HasPrefix(rest, []byte("...")))
			if !marker && (len(rest) == 0 || indent > block) {
				lineStart = next
				continue
			}
			block = -2
		}
		if state == plain && flow == 0 {
			start, node = true, indent
		}
		for i := lineStart + indent; i < lineEnd; i++ {
			x := src[i]
			switch state {
			case dquote:
				switch x {
				case '\\':
					i++
				case '"':
					state, start = plain, false
				}
				continue
			case squote:
				if x == '\'' {
					if i+1 < lineEnd && src[i+1] == '\'' {
						i++
					} else {
						state, start = plain, false
					}
				}
				continue
			}
			blank := i == lineStart || src[i-1] == ' ' || src[i-1] == '\t'
			followed := i+1 >= lineEnd || src[i+1] == ' ' || src[i+1] == '\t' || src[i+1] == '\r'
			switch {
			case x == '#' && blank:
				out = append(out, Comment{i, trimCR(src, i, lineEnd)})
				i = lineEnd
			case x == ' ' || x == '\t' || x == '\r':
			case start && x == '"':
				state = dquote
			case start && x == '\'':
				state = squote
			case start && flow == 0 && (x == '|' || x == '>'):
				block = node
				start = false
			case start && (x == '[' || x == '{'):
				flow++
			case flow > 0 && (x == ']' || x == '}'):
				flow--
				start = false
			case flow > 0 && x == ',':
				start = true
			case x == ':' && (followed || flow > 0):
				start = true
			case start && (x == '-' || x == '?') && followed:
				node = i - lineStart
			case start && (x == '&' || x == '!'):
				// An anchor or a tag: the node itself follows it.
				for i+1 < lineEnd && src[i+1] != ' ' && src[i+1] != '\t' {
					i++
				}
			default:
				if start {
					node = i - lineStart
					start = false
				}
			}
		}
		lineStart = next
	}
	return out
}

// trimCR returns end, less a "\r" just before it.
func trimCR(src []byte, start, end int) int {
	if end > start && src[end-1] == '\r' {
		return end - 1
	}
	return end
}
