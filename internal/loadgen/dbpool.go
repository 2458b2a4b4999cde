package loadgen

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/grpc"
)

// DBPool is the state of one database connection pool, as DB client
// instrumentation (SQLAlchemy, asyncpg, otelsql) reports it.
type DBPool struct {
	Name       string
	Max        int64
	Used, Idle int64
}

// DBPoolMetrics builds one OTLP export of the pools in the current database
// client semantic conventions: db.client.connection.count (an up-down
// counter by state and pool name) and db.client.connection.max, from the
// orchestrator service, stamped at now.
func DBPoolMetrics(services Services, pools []DBPool, start, now time.Time) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	res := rm.Resource().Attributes()
	res.PutStr("service.name", services.Orchestrator)
	res.PutStr("service.version", services.Version)
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(ScopeDB.String())

	sum := upDownCounter(sm.Metrics(), "db.client.connection.count")
	maxSum := upDownCounter(sm.Metrics(), "db.client.connection.max")

	st, ts := pcommon.NewTimestampFromTime(start), pcommon.NewTimestampFromTime(now)
	point := func(dps pmetric.NumberDataPointSlice, pool string, v int64) pmetric.NumberDataPoint {
		dp := dps.AppendEmpty()
		dp.SetStartTimestamp(st)
		dp.SetTimestamp(ts)
		dp.SetIntValue(v)
		dp.Attributes().PutStr("db.client.connection.pool.name", pool)
		return dp
	}
	for _, p := range pools {
		point(sum.DataPoints(), p.Name, p.Used).Attributes().PutStr("db.client.connection.state", "used")
		point(sum.DataPoints(), p.Name, p.Idle).Attributes().PutStr("db.client.connection.state", "idle")
		point(maxSum.DataPoints(), p.Name, p.Max)
	}
	return md
}

// upDownCounter appends a cumulative non-monotonic sum (what an SDK's
// UpDownCounter exports) of connections.
func upDownCounter(ms pmetric.MetricSlice, name string) pmetric.Sum {
	m := ms.AppendEmpty()
	m.SetName(name)
	m.SetUnit("{connection}")
	sum := m.SetEmptySum()
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	sum.SetIsMonotonic(false)
	return sum
}

// SendDBPools exports the pools' state once over OTLP/gRPC to conn.
func SendDBPools(ctx context.Context, conn *grpc.ClientConn, services Services, pools []DBPool, start time.Time) error {
	if len(pools) == 0 {
		return errors.New("no pools to send")
	}
	req := pmetricotlp.NewExportRequestFromMetrics(DBPoolMetrics(services, pools, start, time.Now()))
	if _, err := pmetricotlp.NewGRPCClient(conn).Export(ctx, req); err != nil {
		return fmt.Errorf("exporting DB pool metrics: %w", err)
	}
	return nil
}
