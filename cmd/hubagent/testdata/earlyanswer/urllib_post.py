# POSTs an oversized body N times with urllib.request, which writes the
# whole body before it reads the answer; prints one JSON line per attempt.
import json, ssl, sys, urllib.error, urllib.request

url, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ctx = ssl._create_unverified_context()
body = b"x" * size
for _ in range(n):
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            print(json.dumps({"status": resp.status, "body": resp.read().decode()}))
    except urllib.error.HTTPError as e:
        print(json.dumps({"status": e.code, "body": e.read().decode()}))
    except Exception as e:  # the failure this test exists for
        print(json.dumps({"error": repr(e)}))
