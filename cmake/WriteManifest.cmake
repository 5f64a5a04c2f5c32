# Write the manifest of the built cppsns3 native library (run with cmake -P).
#
# Inputs (-D): OUT (manifest path), LIBRARY (file name of the library),
# SOURCE_DIR, SOURCES (;-separated file names in SOURCE_DIR),
# NS3_WHEEL_VERSION, BUILD_TYPE, CXX_ID, CXX_VERSION, CXX_FLAGS.
#
# The manifest is JSON: the SHA-256 of every source file as it was when the
# library was linked.  cppsns3/ns3/native.py uses the library only when the
# same files, with the same hashes, are the ones the JIT would compile.
# Written to a temporary name first, then renamed: never seen half-written.

set(_entries "")
foreach(_name IN LISTS SOURCES)
  file(SHA256 "${SOURCE_DIR}/${_name}" _hash)
  list(APPEND _entries "    \"${_name}\": \"${_hash}\"")
endforeach()
string(REPLACE ";" ",\n" _entries "${_entries}")
string(REPLACE "\\" "\\\\" CXX_FLAGS "${CXX_FLAGS}")
string(REPLACE "\"" "\\\"" CXX_FLAGS "${CXX_FLAGS}")
string(TIMESTAMP _when "%Y-%m-%dT%H:%M:%SZ" UTC)
file(WRITE "${OUT}.part" "{
  \"format\": 1,
  \"library\": \"${LIBRARY}\",
  \"ns3_wheel_version\": \"${NS3_WHEEL_VERSION}\",
  \"build_type\": \"${BUILD_TYPE}\",
  \"compiler\": \"${CXX_ID} ${CXX_VERSION}\",
  \"cxx_flags\": \"${CXX_FLAGS}\",
  \"built_utc\": \"${_when}\",
  \"sources\": {
${_entries}
  }
}
")
file(RENAME "${OUT}.part" "${OUT}")
