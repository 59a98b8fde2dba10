/* The names llama.cpp's converter gives T5 tensors in GGUF files (gguf-py
 * constants.py, MODEL_ARCH.T5 / T5ENCODER), from their Hugging Face names:
 *   shared.weight                                        token_embd
 *   lm_head.weight                                       output
 *   {en,de}coder.final_layer_norm.weight                 {enc,dec}.output_norm
 *   encoder.block.N.layer.0.layer_norm.weight            enc.blk.N.attn_norm
 *   encoder.block.N.layer.0.SelfAttention.{q,k,v,o}      enc.blk.N.attn_{q,k,v,o}
 *   ....SelfAttention.relative_attention_bias            {enc,dec}.blk.N.attn_rel_b
 *   encoder.block.N.layer.1.layer_norm.weight            enc.blk.N.ffn_norm
 *   ....DenseReluDense.{wi_0,wi_1,wi,wo}                 {enc,dec}.blk.N.ffn_{gate,up,up,down}
 *   decoder.block.N.layer.1.layer_norm.weight            dec.blk.N.cross_attn_norm
 *   decoder.block.N.layer.1.EncDecAttention.{q,k,v,o}    dec.blk.N.cross_attn_{q,k,v,o}
 *   decoder.block.N.layer.2.layer_norm.weight            dec.blk.N.ffn_norm
 * each followed by ".weight" as the converter writes it (the decoder's
 * self-attention is named as the encoder's). */
#ifndef NT5_IMPL_GGUF_NAMES_H
#define NT5_IMPL_GGUF_NAMES_H

#define GGUF_NAME_MAX 64

/* The GGUF name of Hugging Face tensor `hf` into out; 0 when it has none. */
int gguf_name_of(const char *hf, char out[GGUF_NAME_MAX]);

#endif
