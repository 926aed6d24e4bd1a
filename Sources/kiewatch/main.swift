print("kiewatch")
