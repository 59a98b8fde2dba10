"""Reads abi/nt5.h with a real C parser (pycparser, on the preprocessed
header) into a language-neutral model: constants, opaque handles, structs,
callback types and functions, each with the doc comment above it."""
import os
import re
import subprocess

from pycparser import c_ast, c_parser

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
HEADER = os.path.join(ROOT, "abi", "nt5.h")


class Type:
    """A C type: a base name (int32_t, char, void, nt5_model, ...) with
    pointer levels, each pointee possibly const, or a function pointer."""

    def __init__(self, base, pointers=(), const=False):
        self.base = base          # name of the innermost type
        self.const = const        # the innermost type is const
        self.pointers = list(pointers)  # one bool per pointer level: is the pointer itself const

    def __repr__(self):
        return "%s%s%s" % ("const " if self.const else "", self.base, "*" * len(self.pointers))


class Field:
    def __init__(self, name, ctype, doc=""):
        self.name, self.type, self.doc = name, ctype, doc


class Function:
    def __init__(self, name, ret, params, doc):
        self.name, self.ret, self.params, self.doc = name, ret, params, doc


class Model:
    def __init__(self):
        self.constants = []   # (name, int value, doc)
        self.typedefs = {}    # scalar aliases: name -> Type (nt5_status -> int32_t)
        self.opaque = []      # handle struct names
        self.structs = []     # (name, [Field], doc)
        self.callbacks = []   # (name, return Type, [Field], doc)
        self.functions = []   # [Function]


def preprocess(header=HEADER):
    cmd = ["cpp", "-undef", "-nostdinc", "-P", "-I", os.path.join(HERE, "fake_include"), header]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def doc_comments(header_text):
    """Maps each declared name to the comment block right above it."""
    docs = {}
    lines = header_text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"NT5_API .*?\b(nt5_[a-z0-9_]+)\(", line) or re.match(r"typedef struct (nt5_[a-z0-9_]+) \{", line) \
            or re.match(r"typedef .*\(\*(nt5_[a-z0-9_]+)\)", line)
        if not m or m.group(1) in docs:
            continue
        j, block = i - 1, []
        while j >= 0 and lines[j].strip().startswith(("/*", "*", "//")) or (j >= 0 and lines[j].strip().endswith("*/")):
            block.insert(0, lines[j])
            if lines[j].strip().startswith("/*"):
                break
            j -= 1
        text = "\n".join(block)
        text = re.sub(r"^\s*/\*+\s?|\s*\*+/\s*$", "", text, flags=re.M)
        text = re.sub(r"^\s*\* ?", "", text, flags=re.M)
        docs[m.group(1)] = text.strip()
    return docs


def field_docs(header_text):
    """Maps (struct, field) to the comments of the field: the block right above
    its declaration and the one that follows it on the same line, as one line."""
    docs = {}
    for st in re.finditer(r"typedef struct (nt5_\w+) \{(.*?)\n\} \1;", header_text, re.S):
        body, pending, last, last_end = st.group(2), [], None, 0
        for m in re.finditer(r"/\*(.*?)\*/|([^;/]+);", body, re.S):
            if m.group(2) is None:  # a comment: trails the last field on its line, or precedes the next
                comment = " ".join(re.sub(r"^\s*\*(?!/)", "", line).strip() for line in m.group(1).splitlines())
                if last and "\n" not in body[last_end:m.start()]:
                    docs[(st.group(1), last)] = (docs.get((st.group(1), last), "") + " " + comment).strip()
                else:
                    pending.append(comment)
            else:
                last, last_end = re.search(r"(\w+)\s*$", m.group(2)).group(1), m.end()
                docs[(st.group(1), last)] = " ".join(pending)
                pending = []
    return {k: re.sub(r"\s+", " ", v).strip() for k, v in docs.items()}


def constants(header_text):
    out = []
    for m in re.finditer(r"^#define (NT5_[A-Z0-9_]+) \(?(-?\d+)\)?(?:[ \t]*/\*[ \t]*(.*?)[ \t]*\*/)?[ \t]*$", header_text, re.M):
        out.append((m.group(1), int(m.group(2)), m.group(3) or ""))
    return out


def convert_type(node):
    """pycparser type node -> Type (or a callback's parameter list)."""
    pointers = []
    while isinstance(node, c_ast.PtrDecl):
        pointers.insert(0, "const" in node.quals)
        node = node.type
    if isinstance(node, c_ast.TypeDecl):
        inner = node.type
        const = "const" in node.quals
        if isinstance(inner, c_ast.IdentifierType):
            return Type(" ".join(inner.names), pointers, const)
        if isinstance(inner, c_ast.Struct):
            return Type(inner.name, pointers, const)
    raise ValueError("unsupported type node %r" % node)


def params_of(func_decl):
    params = []
    for p in func_decl.args.params if func_decl.args else []:
        t = convert_type(p.type)
        if t.base == "void" and not t.pointers:
            continue
        params.append(Field(p.name, t))
    return params


def read(header=HEADER):
    text = open(header, encoding="utf-8").read()
    docs = doc_comments(text)
    fdocs = field_docs(text)
    ast = c_parser.CParser().parse(preprocess(header), filename=header)
    model = Model()
    model.constants = constants(text)
    for node in ast.ext:
        if isinstance(node, c_ast.Typedef):
            name, t = node.name, node.type
            if name in ("int8_t", "uint8_t", "int16_t", "uint16_t", "int32_t", "uint32_t", "int64_t", "uint64_t",
                        "size_t"):
                continue
            if isinstance(t, c_ast.PtrDecl) and isinstance(t.type, c_ast.FuncDecl):
                fd = t.type
                model.callbacks.append((name, convert_type(fd.type), params_of(fd), docs.get(name, "")))
            elif isinstance(t, c_ast.TypeDecl) and isinstance(t.type, c_ast.Struct):
                st = t.type
                if st.decls is None:
                    model.opaque.append(name)
                else:
                    fields = [Field(d.name, convert_type(d.type), fdocs.get((name, d.name), "")) for d in st.decls]
                    model.structs.append((name, fields, docs.get(name, "")))
            else:
                model.typedefs[name] = convert_type(t)
        elif isinstance(node, c_ast.Decl) and isinstance(node.type, c_ast.FuncDecl):
            fd = node.type
            model.functions.append(Function(node.name, convert_type(fd.type), params_of(fd), docs.get(node.name, "")))
    return model
