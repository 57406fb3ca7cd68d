print("gtr")
