package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// section is one table of the report.
type section struct {
	Title  string
	Header []string
	Rows   [][]string
	Notes  []string
}

func (s *section) add(cells ...any) {
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = cell(c)
	}
	s.Rows = append(s.Rows, row)
}

func (s *section) note(format string, a ...any) { s.Notes = append(s.Notes, fmt.Sprintf(format, a...)) }

func cell(c any) string {
	switch v := c.(type) {
	case string:
		return v
	case time.Duration:
		return fmtDur(v)
	case float64:
		return fmt.Sprintf("%.2f", v)
	case bool:
		if v {
			return "yes"
		}
		return "NO"
	default:
		return fmt.Sprint(v)
	}
}

// fmtDur prints a latency with a unit suited to its size.
func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
}

// met formats a goal check.
func met(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// report is the whole output.
type report struct {
	Title    string
	Preamble []string
	Sections []*section
}

func (r *report) section(title string, header ...string) *section {
	s := &section{Title: title, Header: header}
	r.Sections = append(r.Sections, s)
	return s
}

// writeText prints the report as aligned plain-text tables.
func (r *report) writeText(w io.Writer) {
	r.writeHeader(w)
	for _, s := range r.Sections {
		s.writeText(w)
	}
}

// writeHeader prints the title and preamble.
func (r *report) writeHeader(w io.Writer) {
	fmt.Fprintf(w, "\n== %s ==\n", r.Title)
	for _, p := range r.Preamble {
		fmt.Fprintln(w, p)
	}
}

// writeText prints one section as an aligned plain-text table.
func (s *section) writeText(w io.Writer) {
	fmt.Fprintf(w, "\n-- %s --\n", s.Title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(s.Header, "\t"))
	for _, row := range s.Rows {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	for _, n := range s.Notes {
		fmt.Fprintln(w, "  note:", n)
	}
}

// writeMarkdown writes the report as markdown tables.
func (r *report) writeMarkdown(w io.Writer) {
	fmt.Fprintf(w, "## %s\n\n", r.Title)
	for _, p := range r.Preamble {
		fmt.Fprintf(w, "%s  \n", p)
	}
	for _, s := range r.Sections {
		fmt.Fprintf(w, "\n### %s\n\n", s.Title)
		fmt.Fprintf(w, "| %s |\n", strings.Join(s.Header, " | "))
		sep := make([]string, len(s.Header))
		for i := range sep {
			sep[i] = "---"
		}
		fmt.Fprintf(w, "|%s|\n", strings.Join(sep, "|"))
		for _, row := range s.Rows {
			cells := make([]string, len(row))
			for i, c := range row {
				cells[i] = strings.ReplaceAll(c, "|", `\|`)
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
		}
		if len(s.Notes) > 0 {
			fmt.Fprintln(w)
			for _, n := range s.Notes {
				fmt.Fprintf(w, "- %s\n", n)
			}
		}
	}
}
