using System.Diagnostics.Metrics;

using Tempo.Core;

namespace Tempo.Server;

/// <summary>
/// The server's measurements as .NET instruments on the meter <see cref="MeterName"/>, so <c>dotnet-counters</c> and
/// OpenTelemetry collectors see them: request latencies as histograms, tokens, requests and per-class SLO outcomes as
/// counters (tagged <c>class</c>, <c>reason</c>), and the engine's queues and cache as observable gauges.
/// <see cref="ServingMetrics"/> records every event here and into its Prometheus series at the same time, so the two
/// never disagree.
/// </summary>
/// <remarks>
/// The Prometheus text keeps its own renderer rather than an OpenTelemetry exporter: vLLM's names carry a colon
/// (<c>vllm:num_requests_running</c>), which instrument names cannot, and routers built for vLLM read those exact names.
/// </remarks>
internal sealed class ServerInstruments : IDisposable
{
    /// <summary>The meter's name: <c>dotnet-counters monitor --counters Tempo.Server</c>.</summary>
    public const string MeterName = "Tempo.Server";

    private readonly Meter _meter = new(MeterName, typeof(ServerInstruments).Assembly.GetName().Version?.ToString());
    private readonly Histogram<double> _ttft;
    private readonly Histogram<double> _itl;
    private readonly Histogram<double> _e2e;
    private readonly Counter<long> _promptTokens;
    private readonly Counter<long> _generationTokens;
    private readonly Counter<long> _accepted;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _ended;
    private readonly Counter<double> _gain;
    private readonly Counter<long> _attained;
    private readonly Counter<long> _missed;
    private readonly Counter<long> _jobs;
    private readonly Counter<long> _shed;
    private Func<EngineSnapshot>? _engine;

    public ServerInstruments()
    {
        _ttft = _meter.CreateHistogram<double>("tempo.server.time_to_first_token", "s", "Time from arrival to the first output token.");
        _itl = _meter.CreateHistogram<double>("tempo.server.inter_token_latency", "s", "Gap between consecutive output tokens.");
        _e2e = _meter.CreateHistogram<double>("tempo.server.request_latency", "s", "Time from arrival to the end of a completed request.");
        _promptTokens = _meter.CreateCounter<long>("tempo.server.prompt_tokens", "{token}", "Prompt tokens prefilled.");
        _generationTokens = _meter.CreateCounter<long>("tempo.server.generation_tokens", "{token}", "Output tokens generated.");
        _accepted = _meter.CreateCounter<long>("tempo.server.requests.accepted", "{request}", "Requests handed to the engine; each ends exactly once.");
        _refused = _meter.CreateCounter<long>("tempo.server.requests.refused", "{request}", "Requests answered with an error before reaching the engine, by reason.");
        _ended = _meter.CreateCounter<long>("tempo.server.requests.ended", "{request}", "Requests that left the engine, by finish reason.");
        _gain = _meter.CreateCounter<double>("tempo.server.service_gain", "{weighted_token}", "Service gain earned (weighted tokens within their SLO), by request class.");
        _attained = _meter.CreateCounter<long>("tempo.server.slo.attained", "{request}", "Requests that met their SLO, by request class.");
        _missed = _meter.CreateCounter<long>("tempo.server.slo.missed", "{request}", "Requests that missed their SLO, by request class.");
        _jobs = _meter.CreateCounter<long>("tempo.server.jobs.judged", "{job}", "Collective jobs judged (once, when forgotten), by outcome: met when every call met the job's deadline.");
        _shed = _meter.CreateCounter<long>("tempo.server.requests.shed", "{request}", "Requests shed because their SLO could not be met, by request class.");
        _meter.CreateObservableGauge("tempo.server.requests.running", () => Engine(e => e.Running), "{request}", "Requests in the running batch.");
        _meter.CreateObservableGauge("tempo.server.requests.waiting", () => Engine(e => e.Waiting), "{request}", "Requests waiting for their first scheduling.");
        _meter.CreateObservableGauge("tempo.server.requests.swapped", () => Engine(e => e.Swapped), "{request}", "Requests preempted to CPU memory.");
        _meter.CreateObservableGauge("tempo.server.kv_cache.usage", () => Engine(e => e.KvUsage), "1", "Fraction of the KV cache in use.");
        _meter.CreateObservableCounter("tempo.server.engine.steps", () => Engine(e => e.Steps), "{step}", "Engine steps executed.");
    }

    /// <summary>This server's meter (each server has its own instance under the same name).</summary>
    public Meter Meter => _meter;

    /// <summary>Where the observable gauges read the engine's state (its last published snapshot).</summary>
    public void ObserveEngine(Func<EngineSnapshot> snapshot) => _engine = snapshot;

    public void Token(int promptTokens, double sinceArrivalS, double? gapS)
    {
        _generationTokens.Add(1);
        if (gapS is { } gap)
        {
            _itl.Record(gap);
        }
        else
        {
            _promptTokens.Add(promptTokens);
            _ttft.Record(sinceArrivalS);
        }
    }

    public void Ended(RequestOutcome outcome, string reason, bool shed)
    {
        var cls = new KeyValuePair<string, object?>("class", outcome.Record.Spec.Class.ToString().ToLowerInvariant());
        _ended.Add(1, new KeyValuePair<string, object?>("reason", reason));
        _gain.Add(outcome.ServiceGain, cls);
        (outcome.SloMet ? _attained : _missed).Add(1, cls);
        if (shed)
        {
            _shed.Add(1, cls);
        }

        if (outcome.Record.Completed)
        {
            _e2e.Record(outcome.Record.E2eS);
        }
    }

    public void JobJudged(bool met) => _jobs.Add(1, new KeyValuePair<string, object?>("outcome", met ? "met" : "missed"));

    public void Accepted() => _accepted.Add(1);

    public void Refused(string reason) => _refused.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<T>> Engine<T>(Func<EngineSnapshot, T> read)
        where T : struct => _engine is { } e ? [new Measurement<T>(read(e()))] : [];
}
