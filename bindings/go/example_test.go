package nt5_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	nt5 "github.com/nt5-dev/nt5/bindings/go"
)

// The tiny test model of the repository (tests/data), or $NT5_TEST_DATA's.
func tinyModel() string {
	if d := os.Getenv("NT5_TEST_DATA"); d != "" {
		return filepath.Join(d, "t5-v1_1-tiny")
	}
	return filepath.Join("..", "..", "tests", "data", "t5-v1_1-tiny")
}

// Encoding one text: hidden states [batch, tokens, d_model].
func ExampleModel_Encode() {
	m, err := nt5.Open(tinyModel(), nt5.WithThreads(2))
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	emb, err := m.Encode([]string{"A cat sitting on a mat"}, nt5.EncodeOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("shape", emb.Shape, "lengths", emb.Lengths)
	// Output: shape [1 11 64] lengths [11]
}

// A failed call returns an *nt5.Error with the library's status and message.
func ExampleError() {
	_, err := nt5.Open("/no/such/model")
	if e, ok := err.(*nt5.Error); ok {
		fmt.Println(nt5.StatusName(e.Status), e.Status == nt5.ErrNotFound)
	}
	// Output: NT5_ERR_NOT_FOUND true
}
