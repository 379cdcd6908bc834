"""Code generation: numpy printers, compiled generated modules, content-hash cache."""

from fieldtheory.codegen.module import GeneratedModule, clear_cache, content_hash, load_source
from fieldtheory.codegen.printer import SolverPrinter, function_source, numpy_code

__all__ = ["GeneratedModule", "SolverPrinter", "clear_cache", "content_hash",
           "function_source", "load_source", "numpy_code"]
