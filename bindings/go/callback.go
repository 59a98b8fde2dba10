package nt5

/*
#cgo pkg-config: nt5
#include <nt5.h>
*/
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

// streamState is what a cgo.Handle in user_data points to during Generate.
type streamState struct {
	fn func(Token) bool
}

//export nt5goTokenCallback
func nt5goTokenCallback(ev *C.nt5_token_event, userData unsafe.Pointer) C.int32_t {
	state := cgo.Handle(uintptr(userData)).Value().(*streamState)
	tok := Token{
		SequenceIndex: int(ev.sequence_index),
		Step:          int(ev.step),
		ID:            int32(ev.token_id),
	}
	if ev.text != nil {
		tok.Text = C.GoString(ev.text)
	}
	if state.fn(tok) {
		return 0
	}
	return 1
}
