"""Fixtures for webhook and import tests."""
import base64
import gzip
import json

# Pub/Sub push message: data is base64 JSON.
PUBSUB_MESSAGE = {
    "message": {
        "data": "eyJldmVudCI6Im9yZGVyLmNyZWF0ZWQiLCJvcmRlcl9pZCI6MTAwMSwidG90YWwiOjQ5LjksImN1cnJlbmN5IjoiRVVSIn0=",
        "messageId": "2070443601311540",
        "publishTime": "2024-10-01T10:00:00Z",
    },
    "subscription": "projects/demo/subscriptions/orders-push",
}

# Gzipped CSV as the bank's SFTP drop delivers it.
GZ_CSV_B64 = "H4sIAAAAAAAC/0tJLEnVKS7JL0rVKUotS80rTeUyMjAy0TU00DUw1ElKLcrJzNMxtDAyNtAzNUCWyi3Ny0zO0DE0NTQ00DMw4AIAlkZMQkkAAAA="


def test_pubsub_decode():
    payload = json.loads(base64.b64decode(PUBSUB_MESSAGE["message"]["data"]))
    assert payload["order_id"] == 1001


def test_gz_csv():
    text = gzip.decompress(base64.b64decode(GZ_CSV_B64)).decode()
    assert text.splitlines()[0] == "date,store,revenue"
