{
  "targets": [
    {
      "target_name": "layerfs_host",
      "sources": ["host_calls.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
