package forgetest

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Spec validates request bodies against the operations of an OpenAPI description (the
// project's own testdata/github-rest.json, or the shared github-openapi-subset.json). It
// understands the part of JSON Schema those use for request bodies: type, properties, required,
// enum, maxLength, maxItems, items, anyOf/oneOf, nullable and format date-time.
type Spec struct {
	ops []operation
}

type operation struct {
	method string
	path   *regexp.Regexp
	tmpl   string
	id     string
	body   *schema // nil: the operation takes no JSON body
}

type schema struct {
	Type       string             `json:"type"`
	Properties map[string]*schema `json:"properties"`
	Required   []string           `json:"required"`
	Enum       []any              `json:"enum"`
	MaxLength  *int               `json:"maxLength"`
	MaxItems   *int               `json:"maxItems"`
	Items      *schema            `json:"items"`
	AnyOf      []*schema          `json:"anyOf"`
	OneOf      []*schema          `json:"oneOf"`
	Nullable   bool               `json:"nullable"`
	Format     string             `json:"format"`
}

// LoadSpec reads an OpenAPI description.
func LoadSpec(path string) (*Spec, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseSpec(path, raw)
}

func parseSpec(path string, raw []byte) (*Spec, error) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s := &Spec{}
	for tmpl, methods := range doc.Paths {
		re := regexp.MustCompile("^" + regexp.MustCompile(`\\\{[^}]+\\\}`).ReplaceAllString(regexp.QuoteMeta(tmpl), `[^/]+`) + "$")
		for method, rawOp := range methods {
			var op struct {
				ID   string `json:"operationId"`
				Body *struct {
					Content map[string]struct {
						Schema *schema `json:"schema"`
					} `json:"content"`
				} `json:"requestBody"`
			}
			if err := json.Unmarshal(rawOp, &op); err != nil {
				continue // "parameters" and other non-operations
			}
			o := operation{method: strings.ToUpper(method), path: re, tmpl: tmpl, id: op.ID}
			if op.Body != nil {
				o.body = op.Body.Content["application/json"].Schema
			}
			s.ops = append(s.ops, o)
		}
	}
	// Literal paths before templated ones: /issues/comments/{id}/reactions is not
	// /issues/{issue_number}/comments.
	slices.SortFunc(s.ops, func(a, b operation) int { return strings.Count(a.tmpl, "{") - strings.Count(b.tmpl, "{") })
	return s, nil
}

// Operation returns the operationId serving method and path, or "".
func (s *Spec) Operation(method, path string) string {
	if op := s.find(method, path); op != nil {
		return op.id
	}
	return ""
}

func (s *Spec) find(method, path string) *operation {
	for i := range s.ops {
		if s.ops[i].method == method && s.ops[i].path.MatchString(path) {
			return &s.ops[i]
		}
	}
	return nil
}

// Validate checks a request body against the operation for method and path. Operations the
// description lacks are reported for bodies only: a GET the subset does not list has nothing
// to check.
func (s *Spec) Validate(method, path string, body []byte) error {
	op := s.find(method, path)
	if op == nil {
		if len(body) > 0 && method != "GET" {
			return fmt.Errorf("%s %s is not in the OpenAPI description", method, path)
		}
		return nil
	}
	if op.body == nil {
		return nil
	}
	var v any
	if len(body) == 0 {
		v = map[string]any{}
	} else if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("%s: body is no JSON: %w", op.id, err)
	}
	if err := op.body.validate("body", v); err != nil {
		return fmt.Errorf("%s: %w", op.id, err)
	}
	return nil
}

func (sc *schema) validate(at string, v any) error {
	if sc == nil {
		return nil
	}
	if v == nil {
		if sc.Nullable || sc.Type == "" {
			return nil
		}
		return fmt.Errorf("%s: null where %s is wanted", at, sc.Type)
	}
	switch sc.Type {
	case "object":
		if _, ok := v.(map[string]any); !ok {
			return fmt.Errorf("%s: want an object, got %T", at, v)
		}
	case "array":
		if _, ok := v.([]any); !ok {
			return fmt.Errorf("%s: want an array, got %T", at, v)
		}
	case "string":
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%s: want a string, got %T", at, v)
		}
	case "integer":
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			return fmt.Errorf("%s: want an integer, got %v", at, v)
		}
	case "number":
		if _, ok := v.(float64); !ok {
			return fmt.Errorf("%s: want a number, got %T", at, v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: want a boolean, got %T", at, v)
		}
	}
	if len(sc.Enum) > 0 && !slices.Contains(sc.Enum, v) {
		return fmt.Errorf("%s: %v is not one of %v", at, v, sc.Enum)
	}
	if s, ok := v.(string); ok {
		if sc.MaxLength != nil && utf8.RuneCountInString(s) > *sc.MaxLength {
			return fmt.Errorf("%s: %d characters, over maxLength %d", at, utf8.RuneCountInString(s), *sc.MaxLength)
		}
		if sc.Format == "date-time" {
			if _, err := time.Parse(time.RFC3339, s); err != nil {
				return fmt.Errorf("%s: %q is no date-time", at, s)
			}
		}
	}
	if obj, ok := v.(map[string]any); ok {
		for _, r := range sc.Required {
			if _, ok := obj[r]; !ok {
				return fmt.Errorf("%s: required %q missing", at, r)
			}
		}
		for k, pv := range obj {
			if p := sc.Properties[k]; p != nil {
				if err := p.validate(at+"."+k, pv); err != nil {
					return err
				}
			}
		}
	}
	if arr, ok := v.([]any); ok {
		if sc.MaxItems != nil && len(arr) > *sc.MaxItems {
			return fmt.Errorf("%s: %d items, over maxItems %d", at, len(arr), *sc.MaxItems)
		}
		for i, x := range arr {
			if err := sc.Items.validate(fmt.Sprintf("%s[%d]", at, i), x); err != nil {
				return err
			}
		}
	}
	if len(sc.AnyOf) > 0 && !anyValid(at, v, sc.AnyOf) {
		return fmt.Errorf("%s: matches none of anyOf (e.g. a completed check without conclusion)", at)
	}
	if len(sc.OneOf) > 0 && !anyValid(at, v, sc.OneOf) {
		return fmt.Errorf("%s: matches none of oneOf", at)
	}
	return nil
}

func anyValid(at string, v any, alts []*schema) bool {
	for _, a := range alts {
		if a.validate(at, v) == nil {
			return true
		}
	}
	return false
}
