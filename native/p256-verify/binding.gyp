{
  "targets": [
    {
      "target_name": "p256_verify",
      "sources": ["p256_verify.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
