# Host-only build of the addon (cpu backend) for plain node-gyp environments: what `npm install`
# compiles when no prebuilt binary matches. The CUDA build goes through CMakeLists.txt (cmake-js).
# Both take their source lists from native/sources.json. The tensorrt backend is listed (it
# dlopen()s its module, hence -ldl) and reports itself unavailable here: no CUDA in this build.
{
  "targets": [
    {
      "target_name": "tensorrt_node",
      "sources": ["<!@(node scripts/gyp-sources.js host no_cuda)"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native"
      ],
      "defines": [
        "NAPI_VERSION=<!(node -p \"require('./package.json').binary.napi_versions[0]\")",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "TRTN_PACKAGE_VERSION=\"<!(node -p \"require('./package.json').version\")\"",
        "TRTN_BUILD_SYSTEM=\"node-gyp\"",
        "TRTN_NO_CUDA_NOTE=\"built without CUDA: this is the host-only node-gyp build (binding.gyp)\""
      ],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["-ldl"]
    }
  ]
}
