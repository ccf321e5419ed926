package remote

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// queue is the JetStream side of both ends: the work queue, the outcomes' stream,
// the workers' consumer and the experiments' bucket.
type queue struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	opt     Options
	sub     subjects
	jobs    jetstream.Stream
	results jetstream.Stream
	workers jetstream.Consumer
	configs jetstream.KeyValue
}

// workersConsumer is the durable consumer every worker pulls jobs from.
const workersConsumer = "workers"

// openQueue makes (or finds) the streams, the consumer and the bucket, with opt's
// ack wait and deliveries.
func openQueue(ctx context.Context, nc *nats.Conn, opt Options) (*queue, error) {
	opt = opt.withDefaults()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	q := &queue{nc: nc, js: js, opt: opt, sub: subjects{opt.Stream}}
	if q.jobs, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: opt.Stream, Subjects: []string{opt.Stream + ".jobs.>"},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage,
	}); err != nil {
		return nil, fmt.Errorf("nats: the work queue %s: %w", opt.Stream, err)
	}
	if q.results, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: q.sub.resultsStream(), Subjects: []string{opt.Stream + ".results.>"},
		Storage: jetstream.FileStorage, MaxAge: 30 * 24 * time.Hour,
	}); err != nil {
		return nil, fmt.Errorf("nats: the outcomes' stream: %w", err)
	}
	if q.workers, err = js.CreateOrUpdateConsumer(ctx, opt.Stream, jetstream.ConsumerConfig{
		Durable: workersConsumer, AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: opt.AckWait, MaxDeliver: opt.MaxDeliver, MaxAckPending: -1,
	}); err != nil {
		return nil, fmt.Errorf("nats: the workers' consumer: %w", err)
	}
	if q.configs, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: q.sub.bucket(), Storage: jetstream.FileStorage}); err != nil {
		return nil, fmt.Errorf("nats: the experiments' bucket: %w", err)
	}
	return q, nil
}

// bindQueue finds what a search made: a worker takes the search's settings.
func bindQueue(ctx context.Context, nc *nats.Conn, stream string) (*queue, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	q := &queue{nc: nc, js: js, sub: subjects{stream}}
	if q.workers, err = js.Consumer(ctx, stream, workersConsumer); err != nil {
		return nil, fmt.Errorf("nats: no work queue %s yet (a search with this stream makes it): %w", stream, err)
	}
	if q.configs, err = js.KeyValue(ctx, q.sub.bucket()); err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	info := q.workers.CachedInfo()
	q.opt = Options{Stream: stream, AckWait: info.Config.AckWait, MaxDeliver: info.Config.MaxDeliver}
	return q, nil
}
