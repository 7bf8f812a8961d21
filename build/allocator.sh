# Sourced by ./mledger: picks the process's malloc before the runtime starts.
# libtorch's CPU tensors come from malloc; glibc keeps the holes between freed tensors resident (a 110M LoRA step with
# gradient checkpointing: ~315 MiB live, ~700 MiB of heap), jemalloc reuses them by size class (docs/benchmarks.md,
# session 9). MLEDGER_ALLOCATOR: auto (default: jemalloc when installed, else glibc), jemalloc (must be installed),
# glibc (leave malloc alone). An allocator already in LD_PRELOAD is kept as it is.
# jemalloc's settings unless MALLOC_CONF is set: no separate arena for blocks over 8 MiB (it returns them to the
# system at once, so every large tensor was fresh pages: 0.4-0.75 M page faults per training step) and no decay-based
# purging (freed pages stay for reuse: ~0 faults per step, and still ~30 % less peak than glibc). A long-lived
# server that should hand memory back after a burst can set e.g. MALLOC_CONF=dirty_decay_ms:30000.
mledger_jemalloc_conf="oversize_threshold:0,dirty_decay_ms:-1,muzzy_decay_ms:-1"
mledger_allocator_default_dirs="/usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib"
mledger_allocator_dirs="${MLEDGER_ALLOCATOR_DIRS:-$mledger_allocator_default_dirs}"

# Prints the library to preload, or nothing; exit 2 with one line for a bad setting.
mledger_allocator_library() {
  local choice="${MLEDGER_ALLOCATOR:-auto}" dir
  case "$choice" in
    auto|jemalloc|glibc) ;;
    *) echo "mledger: MLEDGER_ALLOCATOR='$choice' is not one of auto, jemalloc, glibc" >&2; return 2 ;;
  esac
  [ "$choice" = glibc ] && return 0
  case "${LD_PRELOAD:-}" in *jemalloc*|*tcmalloc*|*mimalloc*) return 0 ;; esac
  for dir in $mledger_allocator_dirs; do
    if [ -f "$dir/libjemalloc.so.2" ]; then echo "$dir/libjemalloc.so.2"; return 0; fi
  done
  if [ "$choice" = jemalloc ]; then
    echo "mledger: MLEDGER_ALLOCATOR=jemalloc but libjemalloc.so.2 is not installed (Debian: apt-get install" \
      "libjemalloc2)" >&2
    return 2
  fi
  return 0
}
