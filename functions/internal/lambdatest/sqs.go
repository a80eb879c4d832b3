package lambdatest

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Queues is an in-process SQS endpoint for the real SDK client: it serves
// SendMessage and SendMessageBatch (the JSON protocol) and hands messages
// to consumers the way a standard queue does at its worst. Each message is
// delivered Copies times or fewer (at least once), copies with the same
// MessageId; consumers receive visible messages in random order; a message
// not acknowledged (a failed batch item, a crashed handler) comes back
// after the visibility timeout.
type Queues struct {
	srv *httptest.Server

	// Copies is the most deliveries of one message (1: no duplicates).
	Copies int
	// Visibility is how long a received message stays hidden.
	Visibility time.Duration

	mu     sync.Mutex
	rng    *rand.Rand
	seq    int
	queues map[string]*queue
	stats  QueueStats
	notify chan struct{}
}

// QueueStats counts what the queues did.
type QueueStats struct {
	Sent       int // messages accepted
	Duplicates int // deliveries beyond the first copy of a message
	Received   int // deliveries handed to consumers
	Redrives   int // deliveries made visible again (not acknowledged)
}

type queue struct {
	tickets []*ticket
}

// ticket is one delivery of a message.
type ticket struct {
	id        string
	body      string
	attrs     map[string]events.SQSMessageAttribute
	visibleAt time.Time
	receives  int
	inflight  bool
}

// NewQueues starts the endpoint; Close stops it.
func NewQueues(seed uint64) *Queues {
	q := &Queues{Copies: 1, Visibility: 500 * time.Millisecond, rng: rand.New(rand.NewPCG(seed, 1)),
		queues: map[string]*queue{}, notify: make(chan struct{}, 1)}
	q.srv = httptest.NewServer(http.HandlerFunc(q.serve))
	return q
}

// URL is the endpoint's base URL (sqs.Options.BaseEndpoint).
func (q *Queues) URL() string { return q.srv.URL }

// QueueURL is the URL of the queue name.
func (q *Queues) QueueURL(name string) string { return q.srv.URL + "/000000000000/" + name }

// Close stops the endpoint.
func (q *Queues) Close() { q.srv.Close() }

// Stats returns the counts so far.
func (q *Queues) Stats() QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.stats
}

// Notify is signalled when a message may have become available.
func (q *Queues) Notify() <-chan struct{} { return q.notify }

type sendEntry struct {
	ID                string                                `json:"Id"`
	QueueURL          string                                `json:"QueueUrl"`
	MessageBody       string                                `json:"MessageBody"`
	DelaySeconds      int                                   `json:"DelaySeconds"`
	MessageAttributes map[string]events.SQSMessageAttribute `json:"MessageAttributes"`
}

func (q *Queues) serve(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonSQS.")
	var in struct {
		sendEntry
		Entries []sendEntry `json:"Entries"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		sqsError(w, "InvalidParameterValue", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	switch op {
	case "SendMessage":
		id := q.Send(queueName(in.QueueURL), in.MessageBody, in.MessageAttributes, time.Duration(in.DelaySeconds)*time.Second)
		_ = json.NewEncoder(w).Encode(map[string]string{"MessageId": id, "MD5OfMessageBody": md5Hex(in.MessageBody)})
	case "SendMessageBatch":
		type ok struct{ Id, MessageId, MD5OfMessageBody string }
		out := struct {
			Successful []ok
			Failed     []struct{}
		}{Failed: []struct{}{}}
		for _, e := range in.Entries {
			id := q.Send(queueName(in.QueueURL), e.MessageBody, e.MessageAttributes, time.Duration(e.DelaySeconds)*time.Second)
			out.Successful = append(out.Successful, ok{e.ID, id, md5Hex(e.MessageBody)})
		}
		_ = json.NewEncoder(w).Encode(out)
	default:
		sqsError(w, "UnsupportedOperation", "the in-process queue does not serve "+op)
	}
}

func sqsError(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + code, "message": msg})
}

func md5Hex(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }

func queueName(url string) string { return url[strings.LastIndex(url, "/")+1:] }

// Send enqueues body on the queue name after delay, in 1 to Copies
// deliveries, and returns its message id.
func (q *Queues) Send(name, body string, attrs map[string]events.SQSMessageAttribute, delay time.Duration) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.seq++
	id := fmt.Sprintf("m-%08d", q.seq)
	copies := 1
	if q.Copies > 1 {
		copies += q.rng.IntN(q.Copies)
	}
	qu := q.queue(name)
	now := time.Now()
	for range copies {
		jitter := time.Duration(q.rng.IntN(20)) * time.Millisecond
		qu.tickets = append(qu.tickets, &ticket{id: id, body: body, attrs: attrs, visibleAt: now.Add(delay + jitter)})
	}
	q.stats.Sent++
	q.stats.Duplicates += copies - 1
	q.signal()
	return id
}

func (q *Queues) queue(name string) *queue {
	qu, ok := q.queues[name]
	if !ok {
		qu = &queue{}
		q.queues[name] = qu
	}
	return qu
}

func (q *Queues) signal() {
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// Delivery is a batch handed to a consumer: the SQS event and the
// tickets to acknowledge.
type Delivery struct {
	Event   events.SQSEvent
	tickets []*ticket
	queue   string
}

// Receive hands out up to max visible messages of the queue name, picked
// at random (out of order), hidden for the visibility timeout.
func (q *Queues) Receive(name string, max int) (Delivery, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	qu := q.queue(name)
	now := time.Now()
	var visible []*ticket
	for _, t := range qu.tickets {
		if !t.inflight && !t.visibleAt.After(now) {
			visible = append(visible, t)
		}
	}
	if len(visible) == 0 {
		return Delivery{}, false
	}
	q.rng.Shuffle(len(visible), func(i, j int) { visible[i], visible[j] = visible[j], visible[i] })
	visible = visible[:min(max, len(visible))]
	d := Delivery{tickets: visible, queue: name}
	for _, t := range visible {
		t.inflight = true
		t.receives++
		q.stats.Received++
		d.Event.Records = append(d.Event.Records, events.SQSMessage{
			MessageId: t.id, ReceiptHandle: fmt.Sprintf("%s/%p", t.id, t), Body: t.body,
			Attributes:        map[string]string{"ApproximateReceiveCount": strconv.Itoa(t.receives)},
			MessageAttributes: t.attrs, EventSource: "aws:sqs",
			EventSourceARN: "arn:aws:sqs:us-east-1:000000000000:" + name, AWSRegion: "us-east-1"})
	}
	return d, true
}

// Settle acknowledges the delivery's messages except the failed ones
// (their ids), which come back after the visibility timeout. With all
// set, none is acknowledged (the handler crashed or timed out).
func (q *Queues) Settle(d Delivery, failed map[string]bool, all bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	qu := q.queue(d.queue)
	for _, t := range d.tickets {
		t.inflight = false
		if all || failed[t.id] {
			t.visibleAt = time.Now().Add(q.Visibility)
			q.stats.Redrives++
			continue
		}
		for i, u := range qu.tickets {
			if u == t {
				qu.tickets = append(qu.tickets[:i], qu.tickets[i+1:]...)
				break
			}
		}
	}
	q.signal()
}

// Pending is how many deliveries the queue name still holds.
func (q *Queues) Pending(name string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queue(name).tickets)
}
