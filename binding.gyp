{
  "targets": [
    {
      "target_name": "wayvio_native",
      "sources": [
        "native/wayvio_native.cc",
        "native/util.cc",
        "native/sockets.cc",
        "native/messages.cc",
        "native/fd_io.cc",
        "native/memory.cc",
        "native/guarded_copy.cc",
        "native/exec.cc",
        "native/fd_watcher.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-O2"]
    }
  ]
}
