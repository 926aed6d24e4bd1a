print("kiewatch-bench")
