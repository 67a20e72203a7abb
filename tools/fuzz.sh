#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer, with AddressSanitizer) of the parsers that take
# untrusted bytes: the JSON parser, the HTTP request-head parser and chunked decoder,
# and the event codec. Each target runs for the given seconds from a fixed seed; a
# crash, a trap or a broken round trip fails the script and leaves the input in
# .build-fuzz/artifacts/. Corpora grow in .build-fuzz/corpus/ across runs.
#   tools/fuzz.sh [seconds-per-target, default 60] [target ...]   (targets: json http events)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
secs=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(json http events)
out=$PWD/.build-fuzz
mkdir -p "$out/modules" "$out/artifacts"
flags=(-O -sanitize=fuzzer,address -parse-as-library)
quiet() { grep -v "ld.gold: warning: Cannot export local symbol" || true; }
# JSON is a module of its own: Events imports it.
swiftc "${flags[@]}" -static -emit-library -module-name JSON -emit-module \
  -emit-module-path "$out/modules/JSON.swiftmodule" Sources/JSON/*.swift -o "$out/libJSON.a" 2>&1 | quiet
for target in "${targets[@]}"; do
  case $target in
    json)
      swiftc "${flags[@]}" -module-name JSONFuzz -I "$out/modules" tools/fuzz/JSONFuzz.swift "$out/libJSON.a" \
        -o "$out/fuzz-json" 2>&1 | quiet ;;
    http)
      # The parsers are internal to HTTP: compiled into the harness's module with the
      # files they need (none of them touches a socket).
      (cd Sources/HTTP && swiftc "${flags[@]}" -module-name HTTPFuzz ASCII.swift ChunkedDecoder.swift \
        HTTPProtocolError.swift RequestHead.swift RequestHeadParser.swift HTTPHeaders.swift HTTPVersion.swift \
        ../../tools/fuzz/HTTPFuzz.swift -o "$out/fuzz-http") 2>&1 | quiet ;;
    events)
      swiftc "${flags[@]}" -module-name EventsFuzz -I "$out/modules" -I Sources/CCrypto Sources/Events/*.swift \
        tools/fuzz/EventsFuzz.swift "$out/libJSON.a" -lcrypto -o "$out/fuzz-events" 2>&1 | quiet ;;
    *) echo "fuzz.sh: unknown target $target (json, http, events)" >&2; exit 2 ;;
  esac
  corpus=$out/corpus/$target
  mkdir -p "$corpus"
  [ -d "tools/fuzz/seeds/$target" ] && cp -n tools/fuzz/seeds/"$target"/* "$corpus"/ 2>/dev/null || true
  # Swift's own crash reporter would trip AddressSanitizer; libFuzzer reports instead.
  if ! SWIFT_BACKTRACE=enable=no FUZZ_SEED_DIR="$corpus" "$out/fuzz-$target" -seed=1 -max_len=4096 \
      -max_total_time="$secs" -artifact_prefix="$out/artifacts/$target-" "$corpus" >"$out/$target.log" 2>&1; then
    grep -E "Precondition|Fatal error|ERROR|SUMMARY|Test unit written" "$out/$target.log" >&2 || tail -20 "$out/$target.log" >&2
    echo "fuzz.sh: $target failed; the input is in $out/artifacts/" >&2
    exit 1
  fi
  echo "fuzz.sh: $target: $(grep -E '^Done' "$out/$target.log")"
done
