package ctxguard

// ItemKind says what a piece of content is and where in the protocol it came
// from. The values are stable: they are stored in records and exported.
type ItemKind string

// The kinds of content the filter extracts from MCP messages.
const (
	KindText         ItemKind = "text"          // a text content block or a text resource
	KindBlob         ItemKind = "blob"          // a base64 resource blob
	KindImage        ItemKind = "image"         // an image content block
	KindAudio        ItemKind = "audio"         // an audio content block
	KindResourceLink ItemKind = "resource_link" // a resource_link content block
	KindStructured   ItemKind = "structured"    // every string of a tool's structuredContent
	KindInstructions ItemKind = "instructions"  // server instructions from initialize or server/discover
	KindTool         ItemKind = "tool"          // a tool definition from tools/list
	KindResource     ItemKind = "resource"      // a resource definition from resources/list
	KindTemplate     ItemKind = "template"      // a resource template from resources/templates/list
	KindPrompt       ItemKind = "prompt"        // a prompt definition from prompts/list
	KindDescription  ItemKind = "description"   // a description field of a result (prompts/get)
	KindCompletion   ItemKind = "completion"    // completion/complete values
	KindLog          ItemKind = "log"           // notifications/message data
	KindProgress     ItemKind = "progress"      // notifications/progress message
	KindSampling     ItemKind = "sampling"      // sampling/createMessage from the server
	KindElicitation  ItemKind = "elicitation"   // elicitation/create from the server
	KindError        ItemKind = "error"         // a JSON-RPC error's message and data
	KindOther        ItemKind = "other"         // every string of a result the filter has no specific reader for
	KindOversize     ItemKind = "oversize"      // a whole message over the size limit, withheld
	KindUnparsed     ItemKind = "unparsed"      // a frame from the server that is not JSON-RPC, or ambiguous, withheld
)

// Item is one piece of content that reaches the model, as extracted from one
// MCP message. Its Content is what the model would see: text exactly as the
// JSON string decodes, and blobs after base64 decoding.
type Item struct {
	Kind ItemKind
	// Path is the RFC 6901 JSON Pointer of the item inside its message,
	// for example "/result/contents/0". Spans index the message bytes.
	Path string
	// Start and End delimit the item's JSON value in the message bytes, so
	// a later stage can replace exactly this item and nothing else.
	Start, End int
	// OuterStart and OuterEnd delimit the object a replacement of the item
	// must take the place of when it changes the item's type: the resource
	// contents of a blob, the content block of an image or audio. Zero
	// when the item's own span is what is replaced.
	OuterStart, OuterEnd int
	// URI is the resource URI the item carries, if any.
	URI string
	// Name is the tool, prompt or resource name an item defines, if any.
	Name     string
	MIMEType string
	// Content is the decoded content. It may alias a buffer owned by the
	// filter for the duration of one message; stages must copy what they keep.
	Content []byte
	// Binary is set when Content is not text (an image, or a blob of a
	// non-textual type): it is hashed and recorded but not scanned as text.
	Binary bool
	// Note says what was unusual about the item, for the record: invalid
	// UTF-8 replaced, a blob that is not valid base64, and so on.
	Note string
}
