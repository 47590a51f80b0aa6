package clusterstate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Labels of the configs that hold files (accounts, certdock's state).
const (
	LabelPath    = "certdock.state.path"
	LabelWritten = "certdock.state.written"
)

// FileRecord is one file of certdock's directory kept in the swarm, whole
// and sealed: an ACME account's registration and key, certdock's own state
// (ownership, removal records, failure backoff).
type FileRecord struct {
	Path    string // slash-separated, relative to CERTDOCK_DIR
	Data    []byte
	Written time.Time // when the holder wrote it; the newest record of a path wins
}

type fileData struct {
	Format int             `json:"format"`
	Path   string          `json:"path"`
	Data   json.RawMessage `json:"data"` // a sealed envelope
}

// FileConfigName names the config of one content of one file: a hash of
// the path and a hash of the content, so a new content is a new config.
func FileConfigName(path string, data []byte) string {
	p, d := sha256.Sum256([]byte(path)), sha256.Sum256(data)
	return "certdock-f-" + hex.EncodeToString(p[:8]) + "-" + hex.EncodeToString(d[:8])
}

func fileContext(path string) string { return "file " + path }

// EncodeFile returns the config name, data and labels of f, sealed with k.
func EncodeFile(k Key, f FileRecord) (name string, data []byte, labels map[string]string, err error) {
	sealed, err := k.Seal(f.Data, fileContext(f.Path))
	if err != nil {
		return "", nil, nil, err
	}
	data, err = json.Marshal(fileData{Format: Format, Path: f.Path, Data: sealed})
	if err != nil {
		return "", nil, nil, err
	}
	if len(data) > maxConfigData {
		return "", nil, nil, fmt.Errorf("%s: %d bytes, over a Swarm config's limit", f.Path, len(data))
	}
	labels = map[string]string{
		LabelState:        "file",
		LabelPath:         f.Path,
		LabelWritten:      strconv.FormatInt(f.Written.UnixNano(), 10),
		LabelRecordFormat: strconv.Itoa(Format),
	}
	return FileConfigName(f.Path, f.Data), data, labels, nil
}

// DecodeFile reads a file config, opening its content with k; errors as
// DecodeVersion's.
func DecodeFile(k Key, name string, labels map[string]string, data []byte) (FileRecord, error) {
	if f, err := strconv.Atoi(labels[LabelRecordFormat]); err != nil {
		return FileRecord{}, fmt.Errorf("config %s: label %s=%q: %w", name, LabelRecordFormat, labels[LabelRecordFormat], ErrMismatch)
	} else if f > Format {
		return FileRecord{}, fmt.Errorf("config %s: %w (format %d, this certdock reads up to %d)", name, ErrNewer, f, Format)
	}
	var d fileData
	if err := json.Unmarshal(data, &d); err != nil || d.Path != labels[LabelPath] {
		return FileRecord{}, fmt.Errorf("config %s: %w", name, ErrMismatch)
	}
	if d.Format > Format {
		return FileRecord{}, fmt.Errorf("config %s: %w (format %d, this certdock reads up to %d)", name, ErrNewer, d.Format, Format)
	}
	written, err := strconv.ParseInt(labels[LabelWritten], 10, 64)
	if err != nil {
		return FileRecord{}, fmt.Errorf("config %s: label %s: %w", name, LabelWritten, ErrMismatch)
	}
	plain, err := k.Open(d.Data, fileContext(d.Path))
	if err != nil {
		return FileRecord{}, fmt.Errorf("config %s (%s): %w", name, d.Path, err)
	}
	if FileConfigName(d.Path, plain) != name {
		return FileRecord{}, fmt.Errorf("config %s: %w", name, ErrMismatch)
	}
	return FileRecord{Path: d.Path, Data: plain, Written: time.Unix(0, written)}, nil
}
