// Package llm is ctxguard's optional LLM classifier: it asks a model behind
// any OpenAI-compatible chat-completions endpoint (OpenAI, Azure OpenAI,
// vLLM, llama.cpp server, Ollama) whether a document carries a prompt
// injection, and combines the answer with the heuristic detectors' score
// as a cascade.
//
// The classifier is not a detectors.Detector: the engine runs its detectors
// on every document, in microseconds, while a model call costs money and
// hundreds of milliseconds. The Cascade asks the model only where that
// pays: when the detectors' score is in a grey band, where the heuristics
// are least sure, or when the operator asks for every document.
//
// The prompt treats the document strictly as data (prompt.go): the
// instructions come first, the document follows between two lines that
// carry a boundary drawn at random for every request, and the instructions
// say that nothing between those lines is addressed to the model. The model
// answers one JSON object,
//
//	{"label": "injection"|"clean", "confidence": 0..1, "evidence": "the quoted sentence"}
//
// asked for with a JSON-schema response format where the endpoint supports
// it and read tolerantly otherwise (parse.go). A reply that cannot be read
// is an error, never a verdict.
//
// Judgements are cached by content hash (xxhash64 as the key, SHA-256 to
// confirm); concurrent requests for the same content share one call. Calls
// are bounded in number (Config.Concurrency), in time (Config.Timeout, for
// the whole document) and retried with backoff on 429 and 5xx, honouring
// Retry-After. Long documents are cut into chunks within a token budget.
// The API key is read from an environment variable, sent to the endpoint
// and nowhere else: it is removed from every error message.
package llm
