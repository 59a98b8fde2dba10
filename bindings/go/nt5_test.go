package nt5

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func dataDir() string {
	if d := os.Getenv("NT5_TEST_DATA"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "tests", "data")
}

func open(t *testing.T) *Model {
	m, err := Open(filepath.Join(dataDir(), "t5-v1_1-tiny"), WithThreads(2))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return m
}

// referenceTensor reads an F32 tensor of the fixture's reference.safetensors.
func referenceTensor(t *testing.T, name string) []float32 {
	raw, err := os.ReadFile(filepath.Join(dataDir(), "t5-v1_1-tiny", "reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(raw[:8])
	var header map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+n], &header); err != nil {
		t.Fatal(err)
	}
	var entry struct {
		DataOffsets [2]uint64 `json:"data_offsets"`
	}
	if err := json.Unmarshal(header[name], &entry); err != nil {
		t.Fatal(err)
	}
	data := raw[8+n+entry.DataOffsets[0] : 8+n+entry.DataOffsets[1]]
	out := make([]float32, len(data)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return out
}

func TestEncodeMatchesHuggingFace(t *testing.T) {
	// the CPU ignores WithTF32: still exact fp32; the fixture's weights are all finite
	m, err := Open(filepath.Join(dataDir(), "t5-v1_1-tiny"), WithDevice("cpu"), WithTF32(), WithRefuseNonFiniteWeights())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer m.Close()
	emb, err := m.Encode([]string{"Hello world!"}, EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := referenceTensor(t, "encoder.single.0")
	if emb.Shape != [3]int{1, 8, 64} || len(want) != len(emb.Data) {
		t.Fatalf("shape %v, %d reference values", emb.Shape, len(want))
	}
	var num, den float64
	for i := range want {
		d := float64(emb.Data[i] - want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	if rel := math.Sqrt(num / den); rel > 1e-5 {
		t.Fatalf("relative L2 error %g", rel)
	}
}

func TestSingleFileWithATokenizerEncodesAsItsDirectory(t *testing.T) {
	dir := filepath.Join(dataDir(), "t5-v1_1-tiny")
	single, err := Open(filepath.Join(dir, "model.safetensors"), WithTokenizer(dir))
	if err != nil {
		t.Fatalf("open the single file: %v", err)
	}
	defer single.Close()
	whole, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer whole.Close()
	a, err := single.Encode([]string{"Hello world!"}, EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := whole.Encode([]string{"Hello world!"}, EncodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range b.Data {
		if a.Data[i] != b.Data[i] {
			t.Fatalf("value %d: %g vs %g", i, a.Data[i], b.Data[i])
		}
	}
}

func TestGreedyIDsMatchHuggingFace(t *testing.T) {
	m := open(t)
	defer m.Close()
	raw, err := os.ReadFile(filepath.Join(dataDir(), "t5-v1_1-tiny", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Prompts []string `json:"prompts"`
		Greedy  []struct {
			Sequence []int32 `json:"sequence"`
			Text     *string `json:"text"`
		} `json:"greedy"`
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	opts := DefaultGenerateOptions()
	opts.MaxNewTokens = 20
	opts.MaxInputLength = 1024 // the last prompt has 593 tokens
	out, err := m.Generate(ref.Prompts, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range ref.Greedy {
		want := g.Sequence[1:]
		if len(out[i].IDs) != len(want) {
			t.Fatalf("prompt %d: %v, want %v", i, out[i].IDs, want)
		}
		for k := range want {
			if out[i].IDs[k] != want[k] {
				t.Fatalf("prompt %d: %v, want %v", i, out[i].IDs, want)
			}
		}
		if g.Text != nil && *g.Text != out[i].Text {
			t.Fatalf("prompt %d: text %q, want %q", i, out[i].Text, *g.Text)
		}
	}
}

func TestErrorsCarryTheLibraryMessage(t *testing.T) {
	_, err := Open("/no/such/model")
	var e *Error
	if !errors.As(err, &e) || e.Status != ErrNotFound || !strings.Contains(e.Message, "/no/such/model") {
		t.Fatalf("got %v", err)
	}
	if StatusName(e.Status) != "NT5_ERR_NOT_FOUND" {
		t.Fatal(StatusName(e.Status))
	}
	m := open(t)
	defer m.Close()
	opts := DefaultGenerateOptions()
	opts.NumBeams = 0
	if _, err := m.Generate([]string{"x"}, opts, nil); !errors.As(err, &e) || e.Status != ErrInvalidArg {
		t.Fatalf("got %v", err)
	}
}

func TestCancelledStreamStops(t *testing.T) {
	m := open(t)
	defer m.Close()
	var seen []int32
	opts := DefaultGenerateOptions()
	opts.MaxNewTokens = 20
	_, err := m.Generate([]string{"Hello world!"}, opts, func(tok Token) bool {
		seen = append(seen, tok.ID)
		return len(seen) < 3
	})
	var e *Error
	if !errors.As(err, &e) || e.Status != ErrCancelled || len(seen) != 3 {
		t.Fatalf("got %v after %d tokens", err, len(seen))
	}
	full, err := m.Generate([]string{"Hello world!"}, opts, nil)
	if err != nil || full[0].IDs[0] != seen[0] || full[0].IDs[2] != seen[2] {
		t.Fatalf("model unusable after cancel: %v", err)
	}
}

// Half the goroutines call on one of the model's threads (Threads: 1), and
// get what such a call gives alone.
func TestGoroutinesShareOneModel(t *testing.T) {
	m := open(t)
	defer m.Close()
	texts := []string{"translate English to German: The house is wonderful.", "Hello world!"}
	options := [2]EncodeOptions{{}, {Threads: 1}}
	var wants [2]*Embeddings
	for i, o := range options {
		e, err := m.Encode(texts, o)
		if err != nil {
			t.Fatal(err)
		}
		wants[i] = e
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		o, want := options[g%2], wants[g%2]
		go func() {
			defer wg.Done()
			for r := 0; r < 3; r++ {
				got, err := m.Encode(texts, o)
				if err != nil {
					errs <- err
					return
				}
				for i := range want.Data {
					if got.Data[i] != want.Data[i] {
						errs <- errors.New("a goroutine got different hidden states")
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestConvertToF16AndHuggingFaceLayout(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dataDir(), "t5-v1_1-tiny")
	opts := DefaultConvertOptions()
	opts.DType = DtypeF16
	opts.CalibrationTexts = []string{"Hello world!", "translate English to German: good morning"}
	opts.Threads = 2
	f16 := filepath.Join(dir, "tiny-f16.nt5")
	written, err := Convert(src, f16, opts)
	if err != nil || written != f16 {
		t.Fatalf("convert: %q, %v", written, err)
	}
	m := open(t)
	defer m.Close()
	h, err := Open(f16, WithThreads(2))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	want, err1 := m.Encode([]string{"Hello world!"}, EncodeOptions{})
	got, err2 := h.Encode([]string{"Hello world!"}, EncodeOptions{})
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	var num, den float64
	for i := range want.Data {
		d := float64(got.Data[i] - want.Data[i])
		num += d * d
		den += float64(want.Data[i]) * float64(want.Data[i])
	}
	if rel := math.Sqrt(num / den); rel > 2e-3 {
		t.Errorf("f16 file: relative L2 %g", rel)
	}
	hf := DefaultConvertOptions()
	hf.Format = FormatHf
	if _, err := Convert(src, filepath.Join(dir, "hf"), hf); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "hf", "model.safetensors")); err != nil {
		t.Error(err)
	}
	hf.DType = DtypeF16
	var e *Error
	if _, err := Convert(src, filepath.Join(dir, "hf2"), hf); !errors.As(err, &e) || e.Status != ErrUnsupported {
		t.Errorf("f16 in HF layout: %v", err)
	}
}
