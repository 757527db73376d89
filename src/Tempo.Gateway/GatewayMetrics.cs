using System.Globalization;
using System.Text;

using Tempo.Core;

namespace Tempo.Gateway;

/// <summary>
/// The gateway's Prometheus metrics: its queue, per-replica in-flight, forwarded and re-queued counts and health,
/// refusals by reason, and per request class the service gain earned and the SLOs met and missed, scored from the answers
/// as they passed through (<see cref="AnswerObserver"/>). Names follow <c>tempo serve</c>'s where they mean the same.
/// </summary>
internal sealed class GatewayMetrics(DispatchQueue queue)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, long> _refused = new(StringComparer.Ordinal);
    private long _requeued;
    private long _brokenStreams;
    private long _badBackendsFile;
    private readonly ClassOutcomes _classes = new();

    public void Refused(string reason, long n = 1)
    {
        lock (_gate)
        {
            _refused[reason] = _refused.GetValueOrDefault(reason) + n;
        }
    }

    /// <summary>A forwarded generation request ended (finished, broken or abandoned), scored as its client saw it.</summary>
    public void Ended(RequestOutcome outcome)
    {
        lock (_gate)
        {
            _classes.Add(outcome);
        }
    }

    public void Requeued() => Interlocked.Increment(ref _requeued);

    public void BrokenStream() => Interlocked.Increment(ref _brokenStreams);

    public void BadBackendsFile() => Interlocked.Increment(ref _badBackendsFile);

    public string Render()
    {
        var text = new StringBuilder(2048);
        Metric(text, "tempo_gateway_queue_waiting", "gauge", "Requests held in the gateway's queue.", [("", queue.Waiting)]);
        var replicas = queue.Replicas;
        Metric(text, "tempo_gateway_replica_in_flight", "gauge", "Requests forwarded to a replica and not yet finished.", [.. replicas.Select(r => (Label(r.Id), (double)r.InFlight))]);
        Metric(text, "tempo_gateway_replica_healthy", "gauge", "1 when the replica is in use, 0 when unhealthy or retired.", [.. replicas.Select(r => (Label(r.Id), r.Healthy && !r.Retired ? 1.0 : 0.0))]);
        Metric(text, "tempo_gateway_replica_forwarded_total", "counter", "Requests placed on a replica.", [.. replicas.Select(r => (Label(r.Id), (double)r.Forwarded))]);
        Metric(text, "tempo_gateway_replica_requeued_total", "counter", "Requests that failed on a replica before answering and were placed again.", [.. replicas.Select(r => (Label(r.Id), (double)r.Requeued))]);
        lock (_gate)
        {
            Metric(text, "tempo_requests_refused_total", "counter", "Requests answered with an error by the gateway, by reason.", [.. _refused.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => ($"reason=\"{p.Key}\"", (double)p.Value))]);
            Metric(text, "tempo_service_gain_total", "counter", "Service gain earned (weighted tokens delivered within their SLO), by request class.", PerClass(c => _classes.Gain(c)));
            Metric(text, "tempo_slo_attained_total", "counter", "Requests that met their SLO, by request class.", PerClass(c => _classes.Met(c)));
            Metric(text, "tempo_slo_missed_total", "counter", "Requests that missed their SLO (broken and abandoned ones included), by request class.", PerClass(c => _classes.Missed(c)));
        }

        Metric(text, "tempo_gateway_requeued_total", "counter", "Placements retried after a replica failed before answering.", [("", Interlocked.Read(ref _requeued))]);
        Metric(text, "tempo_gateway_broken_streams_total", "counter", "Streams that lost their replica mid-answer and ended with an error event.", [("", Interlocked.Read(ref _brokenStreams))]);
        Metric(text, "tempo_gateway_bad_backends_file_total", "counter", "Re-reads of the backends file that failed (the fleet was kept).", [("", Interlocked.Read(ref _badBackendsFile))]);
        return text.ToString();
    }

    private static List<(string Labels, double Value)> PerClass(Func<RequestClass, double> value) =>
        [.. Enum.GetValues<RequestClass>().Select(c => ($"class=\"{c.ToString().ToLowerInvariant()}\"", value(c)))];

    private static string Label(string replica) => $"replica=\"{replica.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)}\"";

    private static void Metric(StringBuilder text, string name, string type, string help, IEnumerable<(string Labels, double Value)> samples)
    {
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
        text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        foreach (var (labels, value) in samples)
        {
            text.Append(name);
            if (labels.Length > 0)
            {
                text.Append('{').Append(labels).Append('}');
            }

            text.Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }
    }
}
