"""Example: a support bot with one tool, using the Python SDK."""
import json
import os

from examplellm import Client

client = Client(api_key=os.environ["EXAMPLELLM_API_KEY"])

tools = [{
    "type": "function",
    "function": {
        "name": "get_order_status",
        "description": "Look up the status of an order by its ID.",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string"}},
            "required": ["order_id"],
        },
    },
}]

messages = [
    {"role": "system", "content": "You are Trailgear's support assistant. Be concise. Never promise refunds."},
    {"role": "user", "content": "Where is my order TG-558120?"},
]

resp = client.chat.completions.create(model="support-small", messages=messages, tools=tools)
call = resp.choices[0].message.tool_calls[0]
args = json.loads(call.function.arguments)
print(call.function.name, args)  # get_order_status {'order_id': 'TG-558120'}
