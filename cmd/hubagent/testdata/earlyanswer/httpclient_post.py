# POSTs an oversized body N times with http.client on a new connection each
# time; prints one JSON line per attempt.
import http.client, json, ssl, sys, urllib.parse

url, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
u = urllib.parse.urlsplit(url)
body = b"x" * size
for _ in range(n):
    if u.scheme == "https":
        conn = http.client.HTTPSConnection(u.netloc, timeout=10,
                                           context=ssl._create_unverified_context())
    else:
        conn = http.client.HTTPConnection(u.netloc, timeout=10)
    try:
        conn.request("POST", u.path, body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        print(json.dumps({"status": resp.status, "body": resp.read().decode()}))
    except Exception as e:
        print(json.dumps({"error": repr(e)}))
    finally:
        conn.close()
