// stream.js — stream a chat response to stdout
import ExampleLLM from "examplellm";

const client = new ExampleLLM({ apiKey: process.env.EXAMPLELLM_API_KEY });

const stream = await client.chat.completions.create({
  model: "general-medium",
  stream: true,
  messages: [
    { role: "system", content: "You are a concise technical writer. Use bullet points." },
    { role: "user", content: "Explain what a CDN does in 3 bullets." },
  ],
});

for await (const chunk of stream) {
  process.stdout.write(chunk.choices[0]?.delta?.content ?? "");
}
process.stdout.write("\n");
