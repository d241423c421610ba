package llm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	openai "github.com/sashabaranov/go-openai"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"
)

// DefaultKeyEnv is the environment variable the API key is read from when
// the configuration names none.
const DefaultKeyEnv = "CTXGUARD_LLM_API_KEY"

// Defaults of Config.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultConcurrency = 4
	DefaultChunkTokens = 3000
	DefaultMaxChunks   = 8
	DefaultReplyTokens = 512
	DefaultRetries     = 3
	DefaultCacheSize   = 4096
)

// Config configures a Classifier. The zero value of every field but URL
// and Model means its default.
type Config struct {
	// URL is the OpenAI-compatible base URL, ending in /v1
	// ("https://api.openai.com/v1", "http://127.0.0.1:8000/v1"); the
	// classifier posts to URL + "/chat/completions".
	URL string
	// Model is the model name the endpoint serves.
	Model string
	// KeyEnv names the environment variable that holds the API key
	// (DefaultKeyEnv when empty). The key is sent as a bearer token and
	// kept nowhere else. With no key, no Authorization header is sent
	// (local servers need none) unless RequireKey is set.
	KeyEnv string
	// RequireKey makes a missing or empty key variable an error in New.
	RequireKey bool
	// Timeout bounds the judgement of one document: every chunk, retries
	// and waits included (DefaultTimeout).
	Timeout time.Duration
	// Concurrency bounds the requests in flight to the endpoint, across
	// all documents (DefaultConcurrency).
	Concurrency int
	// ChunkTokens is the budget of one request's document part, in
	// estimated tokens (DefaultChunkTokens); longer documents are cut into
	// chunks, each asked about on its own.
	ChunkTokens int
	// MaxChunks bounds the chunks of one document (DefaultMaxChunks); the
	// rest of a longer document is not sent, and the judgement says so
	// (Judgement.Partial).
	MaxChunks int
	// ReplyTokens bounds the answer (max_tokens, or max_completion_tokens
	// for reasoning models, at four times as many) (DefaultReplyTokens).
	ReplyTokens int
	// Retries is how often a request is sent again after a 429, a 5xx or
	// a failed connection (DefaultRetries; negative: never).
	Retries int
	// CacheSize is how many judgements are kept by content hash
	// (DefaultCacheSize).
	CacheSize int
	// NoSchema leaves out the JSON-schema response format, for endpoints
	// that reject it; the reply is then read tolerantly. An endpoint that
	// answers 400 to the schema is asked again without it, and not asked
	// with it again, even when this is false.
	NoSchema bool
	// HTTPClient sends the requests (a client with the default transport
	// when nil). It must not follow the redirects of a hostile endpoint
	// to another host with the key: the default client drops the
	// Authorization header on a redirect to another host.
	HTTPClient *http.Client
}

// Classifier asks a model whether documents carry a prompt injection. It is
// safe for concurrent use.
type Classifier struct {
	cfg      Config
	client   *openai.Client
	key      string
	host     string
	sem      chan struct{}
	cache    *cache
	group    singleflight.Group
	stats    Stats
	noSchema atomic.Bool
}

// New returns a classifier for the endpoint and model of cfg.
func New(cfg Config) (*Classifier, error) {
	if cfg.URL == "" || cfg.Model == "" {
		return nil, errors.New("llm: an endpoint URL and a model name are required")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("llm: %q is not an http(s) URL (the OpenAI-compatible base URL, ending in /v1)", cfg.URL)
	}
	if u.User != nil {
		return nil, errors.New("llm: the endpoint URL must not carry credentials; put the key in the environment variable named by key_env")
	}
	if cfg.KeyEnv == "" {
		cfg.KeyEnv = DefaultKeyEnv
	}
	key := strings.TrimSpace(os.Getenv(cfg.KeyEnv))
	if key == "" && cfg.RequireKey {
		return nil, fmt.Errorf("llm: the environment variable %s (the API key) is not set", cfg.KeyEnv)
	}
	cfg.Timeout = or(cfg.Timeout, DefaultTimeout)
	cfg.Concurrency = or(cfg.Concurrency, DefaultConcurrency)
	cfg.ChunkTokens = max(or(cfg.ChunkTokens, DefaultChunkTokens), 64)
	cfg.MaxChunks = or(cfg.MaxChunks, DefaultMaxChunks)
	cfg.ReplyTokens = or(cfg.ReplyTokens, DefaultReplyTokens)
	cfg.CacheSize = or(cfg.CacheSize, DefaultCacheSize)
	switch {
	case cfg.Retries == 0:
		cfg.Retries = DefaultRetries
	case cfg.Retries < 0:
		cfg.Retries = 0
	}
	hc := cfg.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = cfg.Concurrency
		hc = &http.Client{Transport: tr}
	}
	c := &Classifier{cfg: cfg, key: key, host: u.Host, sem: make(chan struct{}, cfg.Concurrency), cache: newCache(cfg.CacheSize)}
	oc := openai.DefaultConfig(key)
	oc.BaseURL = strings.TrimRight(cfg.URL, "/")
	oc.HTTPClient = &retrier{client: hc, retries: cfg.Retries, base: 250 * time.Millisecond, maxBackoff: 4 * time.Second,
		maxRetryAfter: time.Minute, stats: &c.stats, now: time.Now}
	c.client = openai.NewClientWithConfig(oc)
	c.noSchema.Store(cfg.NoSchema)
	return c, nil
}

func or[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Model returns the model the classifier asks.
func (c *Classifier) Model() string { return c.cfg.Model }

// Stats returns what the classifier has done so far.
func (c *Classifier) Stats() Counters { return c.stats.snapshot() }

// Judgement is the model's judgement of a whole document.
type Judgement struct {
	Label Label
	// Confidence is the model's confidence in Label: for an injection, that
	// of the most confident chunk that found one; for a clean document,
	// that of the least confident chunk.
	Confidence float64
	// Evidence is the sentence the model quoted (for an injection).
	Evidence string
	// Start and End are the evidence's byte span in the document when it
	// was found there (Found), and otherwise the span of the chunk the
	// model judged an injection.
	Start, End int
	Found      bool
	// Chunks is how many requests the document took; Partial is set when
	// it was longer than MaxChunks chunks and its end was not judged.
	Chunks  int
	Partial bool
	Model   string
	// PromptTokens and CompletionTokens are what the judgement cost when it
	// was made (a cached judgement reports its original cost).
	PromptTokens, CompletionTokens int
	// Cached is set when the judgement came from the cache.
	Cached bool
}

// Injection is the probability of an injection the judgement stands for:
// the confidence of an injection label, one minus that of a clean one.
func (j Judgement) Injection() float64 {
	if j.Label == LabelInjection {
		return j.Confidence
	}
	return 1 - j.Confidence
}

// Error is an error of the classifier. Its message never contains the API
// key or the document.
type Error struct {
	msg  string
	kind error
}

func (e *Error) Error() string { return e.msg }

// Unwrap returns the kind of failure: ErrUnparseable, ErrRefused,
// ErrUnavailable or context.DeadlineExceeded.
func (e *Error) Unwrap() error { return e.kind }

// Kinds of failure.
var (
	// ErrRefused: the model refused to classify the document.
	ErrRefused = errors.New("the model refused to classify the document")
	// ErrUnavailable: the endpoint could not be reached or answered with
	// an error status.
	ErrUnavailable = errors.New("the endpoint is unavailable")
)

// Classify judges content. Judgements are cached by content hash, and
// concurrent calls for the same content share one judgement. An error means
// there is no judgement; it never stands for a verdict.
func (c *Classifier) Classify(ctx context.Context, content []byte) (Judgement, error) {
	s := sum(content)
	if j, ok := c.cache.get(s); ok {
		c.stats.cacheHits.Add(1)
		c.stats.judged.Add(1)
		j.Cached = true
		return j, nil
	}
	// The call may outlive this one (another caller waits for it, or this
	// one gives up), and the content may be a buffer the caller reuses.
	content = bytes.Clone(content)
	me := new(byte) // tells the caller whose call made the judgement
	ch := c.group.DoChan(string(s.sha[:]), func() (any, error) {
		if j, ok := c.cache.get(s); ok {
			j.Cached = true
			return shared{j, nil}, nil
		}
		// The judgement is shared by every caller waiting for it: one
		// caller giving up must not fail the others. The timeout bounds it.
		j, err := c.classify(context.WithoutCancel(ctx), content)
		if err != nil {
			c.stats.errors.Add(1)
			return nil, err
		}
		c.cache.put(s, j)
		return shared{j, me}, nil
	})
	select {
	case <-ctx.Done():
		return Judgement{}, c.fail(ctx.Err())
	case r := <-ch:
		if r.Err != nil {
			return Judgement{}, r.Err
		}
		sh := r.Val.(shared)
		j := sh.j
		if sh.by != me {
			j.Cached = true
		}
		if j.Cached {
			c.stats.cacheHits.Add(1)
		}
		c.stats.judged.Add(1)
		return j, nil
	}
}

// shared is a judgement and the caller that made it.
type shared struct {
	j  Judgement
	by *byte
}

// chunkAnswer is the reply about one chunk.
type chunkAnswer struct {
	Reply
	span
	prompt, completion int
}

func (c *Classifier) classify(ctx context.Context, content []byte) (Judgement, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	parts, partial := chunks(content, c.cfg.ChunkTokens, c.cfg.MaxChunks)
	answers := make([]chunkAnswer, len(parts))
	g, gctx := errgroup.WithContext(ctx)
	for i, p := range parts {
		g.Go(func() error {
			r, pt, ct, err := c.ask(gctx, content[p.Start:p.End], i+1, len(parts))
			answers[i] = chunkAnswer{Reply: r, span: p, prompt: pt, completion: ct}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil && !errors.Is(err, ErrUnparseable) && !errors.Is(err, ErrRefused) {
			err = ctx.Err()
		}
		return Judgement{}, c.fail(err)
	}
	j := Judgement{Label: LabelClean, Confidence: 1, Chunks: len(parts), Partial: partial, Model: c.cfg.Model}
	var best *chunkAnswer
	for i := range answers {
		a := &answers[i]
		j.PromptTokens += a.prompt
		j.CompletionTokens += a.completion
		switch {
		case a.Label == LabelInjection && (best == nil || a.Confidence > best.Confidence):
			best = a
		case a.Label == LabelClean && best == nil:
			j.Confidence = min(j.Confidence, a.Confidence)
		}
	}
	if best != nil {
		j.Label, j.Confidence, j.Evidence = LabelInjection, best.Confidence, best.Evidence
		j.Start, j.End = best.Start, best.End
		if s, e, ok := locate(content[best.Start:best.End], best.Evidence); ok {
			j.Start, j.End, j.Found = best.Start+s, best.Start+e, true
		} else if s, e, ok := locate(content, best.Evidence); ok {
			j.Start, j.End, j.Found = s, e, true
		}
	}
	return j, nil
}

// ask asks about one chunk and returns the reply and the tokens it cost.
func (c *Classifier) ask(ctx context.Context, chunk []byte, part, parts int) (Reply, int, int, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return Reply{}, 0, 0, ctx.Err()
	}
	defer func() { <-c.sem }()
	req := openai.ChatCompletionRequest{Model: c.cfg.Model, Messages: messages(chunk, part, parts, newBoundary(chunk))}
	if reasoningModel(c.cfg.Model) {
		req.MaxCompletionTokens = 4 * c.cfg.ReplyTokens
	} else {
		req.MaxTokens = c.cfg.ReplyTokens
	}
	if !c.noSchema.Load() {
		req.ResponseFormat = responseFormat()
	}
	resp, err := c.client.CreateChatCompletion(ctx, req)
	if err != nil && req.ResponseFormat != nil && schemaRejected(err) {
		// The endpoint does not take a JSON schema: ask without one from
		// now on, and read the reply tolerantly.
		c.noSchema.Store(true)
		req.ResponseFormat = nil
		resp, err = c.client.CreateChatCompletion(ctx, req)
	}
	if err != nil {
		return Reply{}, 0, 0, err
	}
	pt, ct := resp.Usage.PromptTokens, resp.Usage.CompletionTokens
	c.stats.promptTokens.Add(int64(pt))
	c.stats.completionTokens.Add(int64(ct))
	if len(resp.Choices) == 0 {
		return Reply{}, pt, ct, fmt.Errorf("%w: the reply has no choices", ErrUnparseable)
	}
	ch := resp.Choices[0]
	switch {
	case ch.Message.Refusal != "":
		return Reply{}, pt, ct, ErrRefused
	case ch.FinishReason == openai.FinishReasonContentFilter:
		return Reply{}, pt, ct, fmt.Errorf("%w (the endpoint's content filter stopped the reply)", ErrRefused)
	}
	r, err := ParseReply(ch.Message.Content)
	if err != nil && ch.FinishReason == openai.FinishReasonLength {
		err = fmt.Errorf("%w (the reply was cut off at %d tokens)", err, c.cfg.ReplyTokens)
	}
	return r, pt, ct, err
}

// schemaRejected reports whether the endpoint refused the request because
// of its response format.
func schemaRejected(err error) bool {
	var ae *openai.APIError
	var re *openai.RequestError
	var status int
	var msg string
	switch {
	case errors.As(err, &ae):
		status, msg = ae.HTTPStatusCode, ae.Message
		if ae.Param != nil {
			msg += " " + *ae.Param
		}
	case errors.As(err, &re):
		status, msg = re.HTTPStatusCode, string(re.Body)
	default:
		return false
	}
	msg = strings.ToLower(msg)
	return (status == http.StatusBadRequest || status == http.StatusUnprocessableEntity) &&
		(strings.Contains(msg, "response_format") || strings.Contains(msg, "json_schema") || strings.Contains(msg, "schema"))
}

// fail turns an error into the classifier's Error: what went wrong in
// words, the endpoint's status and message cut short, and the key, should
// an endpoint echo it, removed.
func (c *Classifier) fail(err error) error {
	var ae *openai.APIError
	var re *openai.RequestError
	var ue *url.Error
	kind := ErrUnavailable
	var msg string
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		kind, msg = context.DeadlineExceeded, fmt.Sprintf("no answer within %s", c.cfg.Timeout)
	case errors.Is(err, context.Canceled):
		kind, msg = context.Canceled, "cancelled"
	case errors.Is(err, ErrUnparseable), errors.Is(err, ErrRefused):
		kind, msg = ErrUnparseable, err.Error()
		if errors.Is(err, ErrRefused) {
			kind = ErrRefused
		}
	case errors.As(err, &ae):
		msg = fmt.Sprintf("the endpoint answered %s: %s", status(ae.HTTPStatusCode, ae.HTTPStatus), cut(c.redact(ae.Message), 300))
	case errors.As(err, &re):
		msg = fmt.Sprintf("the endpoint answered %s", status(re.HTTPStatusCode, re.HTTPStatus))
		if b := strings.TrimSpace(c.redact(string(re.Body))); b != "" {
			msg += ": " + cut(b, 300)
		}
	case errors.As(err, &ue):
		msg = "cannot reach the endpoint: " + ue.Err.Error()
	default:
		msg = err.Error()
	}
	// The key is taken out before the message is cut short too, so that
	// a cut through the key leaves none of it behind.
	msg = c.redact(fmt.Sprintf("llm: %s at %s: %s", c.cfg.Model, c.host, msg))
	return &Error{msg: msg, kind: kind}
}

// redact removes the API key from s.
func (c *Classifier) redact(s string) string {
	if c.key == "" {
		return s
	}
	return strings.ReplaceAll(s, c.key, "[redacted]")
}

func status(code int, s string) string {
	if s != "" {
		return s
	}
	return fmt.Sprint(code)
}

// cut shortens s to at most n bytes, on a rune boundary, and makes it one
// line.
func cut(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
