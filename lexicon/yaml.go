package lexicon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"gopkg.in/yaml.v3"
)

// lexiconYAMLEntry is one key of a Lexicon YAML configuration file.
type lexiconYAMLEntry struct {
	key string

	// value is a scalar's text as written ("" for null); isScalar tells
	// scalars from mappings and sequences.
	value    string
	isScalar bool

	// children are a mapping's entries (non-nil for a mapping, even an
	// empty one).
	children []lexiconYAMLEntry
}

// readLexiconYAML reads a Lexicon configuration file (lexicon.yml or
// lexicon_<provider>.yml) and returns its top-level entries, with one more
// level for mappings. A missing file, or a directory in its place (Lexicon
// only reads regular files), yields no entries; an empty file too. A file
// whose top level is not a mapping is an error, as in Lexicon. When a key
// repeats, the last one wins, as in PyYAML.
func readLexiconYAML(path string) ([]lexiconYAMLEntry, error) {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) || err == nil && info.IsDir() {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not valid YAML: %v", err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil // empty file
	}
	root := resolveAlias(doc.Content[0])
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, errors.New("must be a mapping of option names to values (e.g. auth_token: ...)")
	}
	return yamlEntries(root, 1), nil
}

// yamlEntries lists a mapping node's entries, descending depth more levels
// into mappings.
func yamlEntries(m *yaml.Node, depth int) []lexiconYAMLEntry {
	entries := []lexiconYAMLEntry{}
	index := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := resolveAlias(m.Content[i]), resolveAlias(m.Content[i+1])
		e := lexiconYAMLEntry{key: k.Value}
		switch v.Kind {
		case yaml.ScalarNode:
			e.isScalar = true
			if v.Tag != "!!null" {
				e.value = v.Value
			}
		case yaml.MappingNode:
			if depth > 0 {
				e.children = yamlEntries(v, depth-1)
			}
		}
		if j, ok := index[e.key]; ok {
			entries[j] = e
			continue
		}
		index[e.key] = len(entries)
		entries = append(entries, e)
	}
	return entries
}

// resolveAlias follows YAML aliases (*name) to the node they stand for.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}
