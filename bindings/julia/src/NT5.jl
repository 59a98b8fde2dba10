# NT5: T5-family encoding and generation through libnt5.
# The raw layer (LibNT5.jl) is generated from abi/nt5.h by bindings/generate.py;
# this module is the idiomatic layer on top. Set NT5_LIBRARY to the library's
# path if libnt5.so.1 is not on the loader's search path.
module NT5

include("LibNT5.jl")
using .LibNT5

export Model, NT5Error, convert_model, encode, generate, tokenize

struct NT5Error <: Exception
    status::Int32
    message::String
end

Base.showerror(io::IO, e::NT5Error) =
    print(io, "NT5Error: ", e.message, " (", unsafe_string(LibNT5.nt5_status_name(e.status)), ")")

# A copy of struct x with some fields replaced by name; the others keep the
# values the library's _init function put there, whatever fields the struct
# has grown.
function with_fields(x::T; kw...) where {T}
    vals = [haskey(kw, f) ? convert(fieldtype(T, f), kw[f]) : getfield(x, f) for f in fieldnames(T)]
    return T(vals...)
end

# Reads this thread's message right after the failed call (Julia tasks do not
# migrate between threads inside this function).
function check(status)
    status == LibNT5.NT5_OK && return nothing
    throw(NT5Error(status, unsafe_string(LibNT5.nt5_last_error())))
end

mutable struct Model
    ptr::Ptr{LibNT5.nt5_model}
    function Model(path::AbstractString; device::Union{Nothing,String}=nothing, threads::Integer=0,
                   encoder_only::Bool=false, weight_dtype::Integer=LibNT5.NT5_DTYPE_AUTO,
                   allow_tf32::Bool=false, refuse_non_finite_weights::Bool=false,
                   tokenizer::Union{Nothing,String}=nothing, config::Union{Nothing,String}=nothing)
        opts = Ref{LibNT5.nt5_model_options}()
        check(LibNT5.nt5_model_options_init(opts, sizeof(LibNT5.nt5_model_options)))
        GC.@preserve device tokenizer config begin
            dev = device === nothing ? Cstring(C_NULL) : Base.unsafe_convert(Cstring, device)
            tok = tokenizer === nothing ? Cstring(C_NULL) : Base.unsafe_convert(Cstring, tokenizer)
            cfg = config === nothing ? Cstring(C_NULL) : Base.unsafe_convert(Cstring, config)
            opts[] = with_fields(opts[]; device=dev, num_threads=threads, encoder_only=Int32(encoder_only),
                                 weight_dtype=weight_dtype, allow_tf32=Int32(allow_tf32),
                                 refuse_non_finite_weights=Int32(refuse_non_finite_weights), tokenizer=tok,
                                 config=cfg)
            out = Ref{Ptr{LibNT5.nt5_model}}(C_NULL)
            check(LibNT5.nt5_model_open(path, opts, out))
        end
        m = new(out[])
        finalizer(m) do m
            m.ptr != C_NULL && LibNT5.nt5_model_free(m.ptr)
            m.ptr = C_NULL
        end
        return m
    end
end

Base.close(m::Model) = finalize(m)

"""Token ids of `text` as T5's tokenizer makes them, `</s>` appended."""
function tokenize(m::Model, text::AbstractString)
    n = Ref{Csize_t}(0)
    st = LibNT5.nt5_tokenize(m.ptr, text, 0, Ptr{Int32}(C_NULL), 0, n)
    st == LibNT5.NT5_ERR_BUFFER_TOO_SMALL || check(st)
    ids = Vector{Int32}(undef, n[])
    check(LibNT5.nt5_tokenize(m.ptr, text, 0, ids, length(ids), n))
    return ids
end

"""
Final encoder hidden states of `texts` as an `Array{Float32,3}` indexed
`[d_model, seq_len, batch]` (column-major view of the library's row-major
`[batch, seq_len, d_model]`), and the number of real tokens per text.
`threads` is the most of the model's CPU threads the call works on (0: all).
"""
function encode(m::Model, texts::Vector{String}; max_length::Integer=0, pad_to_max_length::Bool=false,
                no_mask::Bool=false, threads::Integer=0)
    opts = Ref{LibNT5.nt5_encode_options}()
    check(LibNT5.nt5_encode_options_init(opts, sizeof(LibNT5.nt5_encode_options)))
    opts[] = with_fields(opts[];
        padding=pad_to_max_length ? LibNT5.NT5_PADDING_MAX_LENGTH : LibNT5.NT5_PADDING_LONGEST,
        max_length=max_length, attention=no_mask ? LibNT5.NT5_ATTEND_ALL : LibNT5.NT5_ATTEND_MASKED,
        output_dtype=LibNT5.NT5_DTYPE_F32, num_threads=threads)
    out = Ref{Ptr{LibNT5.nt5_embeddings}}(C_NULL)
    ptrs = [pointer(t) for t in texts]
    GC.@preserve texts check(LibNT5.nt5_encode_texts(m.ptr, ptrs, length(texts), opts, out))
    try
        b, s, d = Ref{Csize_t}(0), Ref{Csize_t}(0), Ref{Csize_t}(0)
        check(LibNT5.nt5_embeddings_shape(out[], b, s, d))
        data = unsafe_wrap(Array, Ptr{Float32}(LibNT5.nt5_embeddings_data(out[])), (Int(d[]), Int(s[]), Int(b[])))
        lengths = unsafe_wrap(Array, LibNT5.nt5_embeddings_lengths(out[]), Int(b[]))
        return copy(data), Int.(lengths)
    finally
        LibNT5.nt5_embeddings_free(out[])
    end
end

"""Generated texts and token ids for each of `texts` (greedy unless `num_beams` > 1), on at
most `threads` of the model's CPU threads (0: all)."""
function generate(m::Model, texts::Vector{String}; max_new_tokens::Integer=64, num_beams::Integer=1,
                  threads::Integer=0)
    opts = Ref{LibNT5.nt5_generate_options}()
    check(LibNT5.nt5_generate_options_init(opts, sizeof(LibNT5.nt5_generate_options)))
    opts[] = with_fields(opts[]; max_new_tokens=max_new_tokens, num_beams=num_beams, num_threads=threads)
    out = Ref{Ptr{LibNT5.nt5_generation}}(C_NULL)
    ptrs = [pointer(t) for t in texts]
    GC.@preserve texts check(LibNT5.nt5_generate_texts(m.ptr, ptrs, length(texts), opts, out))
    try
        results = Tuple{String,Vector{Int32}}[]
        for i in 0:LibNT5.nt5_generation_count(out[])-1
            ids, n, text, score = Ref{Ptr{Int32}}(), Ref{Csize_t}(0), Ref{Ptr{Cchar}}(), Ref{Cfloat}(0)
            check(LibNT5.nt5_generation_get(out[], i, ids, n, text, score))
            push!(results, (unsafe_string(text[]), copy(unsafe_wrap(Array, ids[], Int(n[])))))
        end
        return results
    finally
        LibNT5.nt5_generation_free(out[])
    end
end

"""
    convert_model(src, dst=nothing; format=:nt5, dtype=NT5_DTYPE_AUTO, encoder_only=false,
                  fold_norm_scales=false, f16_headroom=0, calibration_texts=String[])

Converts `src` (a directory, nt5 file or Hub id) into `dst`: an nt5 file, or with
`format=:hf` a new Hugging Face directory; `dst === nothing` keeps an nt5 file in the
Hub cache (`src` must be a Hub id). `dtype` NT5_DTYPE_F16 stores calibrated
power-of-two scales. Returns the written path.
"""
function convert_model(src::AbstractString, dst::Union{Nothing,AbstractString}=nothing; format::Symbol=:nt5,
                       dtype::Integer=LibNT5.NT5_DTYPE_AUTO, encoder_only::Bool=false,
                       fold_norm_scales::Bool=false, f16_headroom::Real=0,
                       calibration_texts::Vector{String}=String[])
    opts = Ref{LibNT5.nt5_convert_options}()
    check(LibNT5.nt5_convert_options_init(opts, sizeof(LibNT5.nt5_convert_options)))
    texts = [Base.unsafe_convert(Ptr{Cchar}, Base.cconvert(Cstring, t)) for t in calibration_texts]
    buf = Vector{UInt8}(undef, 4096)
    len = Ref{Csize_t}(0)
    GC.@preserve calibration_texts texts dst begin
        opts[] = with_fields(opts[]; format=(format === :hf ? LibNT5.NT5_FORMAT_HF : LibNT5.NT5_FORMAT_NT5),
                             dtype=dtype, encoder_only=Int32(encoder_only),
                             fold_norm_scales=Int32(fold_norm_scales), f16_headroom=f16_headroom,
                             calibration_texts=(isempty(texts) ? Ptr{Ptr{Cchar}}(C_NULL) : pointer(texts)),
                             num_calibration_texts=length(texts))
        check(LibNT5.nt5_convert(src, dst === nothing ? Cstring(C_NULL) : dst, opts, buf, length(buf), len))
    end
    return String(buf[1:len[]])
end

end # module
