using System.Globalization;
using System.Text;

using Tempo.Core;

namespace Tempo.Server;

/// <summary>
/// Prometheus metrics of the server, rendered in the text exposition format (version 0.0.4) with vLLM's metric
/// names, so dashboards and SLO-aware routers (llm-d, GIE) built for vLLM read a Tempo server unchanged. Tempo's
/// own per-class service gain and SLO counters are added under the <c>tempo_</c> prefix.
/// </summary>
/// <remarks>
/// Hand-written rather than an exporter package: a dozen series, and the exact names (with vLLM's colon) and
/// labels matter more than generality. Engine-side updates come from the engine thread; rendering and
/// rejection counts come from request threads, so every mutable series is guarded.
/// </remarks>
internal sealed class ServingMetrics : IDisposable
{
    // Latency buckets in seconds, dense where interactive SLOs sit (tens of ms to a few s), sparse up to minutes.
    private static readonly double[] LatencyBuckets = [0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 20, 40, 80, 160, 320];
    private static readonly double[] TokenGapBuckets = [0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2.5, 5, 10, 20];

    private readonly Lock _gate = new();
    private readonly string _modelLabel;
    private readonly Histogram _ttft = new(LatencyBuckets);
    private readonly Histogram _itl = new(TokenGapBuckets);
    private readonly Histogram _tpot = new(TokenGapBuckets);
    private readonly Histogram _e2e = new(LatencyBuckets);
    private readonly ClassOutcomes _classes = new();
    private readonly Dictionary<string, long> _success = new(StringComparer.Ordinal) { ["stop"] = 0, ["length"] = 0 };
    private readonly Dictionary<string, long> _ended = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _rejected = new(StringComparer.Ordinal);
    private long _jobsMet;
    private long _jobsMissed;
    private long _accepted;
    private long _promptTokens;
    private long _generationTokens;

    public ServingMetrics(string modelName) => _modelLabel = $"model_name=\"{Escape(modelName)}\"";

    /// <summary>The same measurements as .NET instruments (System.Diagnostics.Metrics), recorded at the same events.</summary>
    public ServerInstruments Instruments { get; } = new();

    /// <summary>Prompt tokens whose prefill finished (counted at each request's first token).</summary>
    public long PromptTokens
    {
        get
        {
            lock (_gate)
            {
                return _promptTokens;
            }
        }
    }

    /// <summary>Output tokens generated.</summary>
    public long GenerationTokens
    {
        get
        {
            lock (_gate)
            {
                return _generationTokens;
            }
        }
    }

    /// <summary>An output token reached a request; <paramref name="gapS"/> is null for its first token.</summary>
    public void OnToken(int promptTokens, double sinceArrivalS, double? gapS)
    {
        Instruments.Token(promptTokens, sinceArrivalS, gapS);
        lock (_gate)
        {
            _generationTokens++;
            if (gapS is { } gap)
            {
                _itl.Observe(gap);
            }
            else
            {
                _promptTokens += promptTokens;
                _ttft.Observe(sinceArrivalS);
            }
        }
    }

    /// <summary>A request accepted by the engine ended.</summary>
    public void OnEnded(RequestOutcome outcome)
    {
        var record = outcome.Record;
        Instruments.Ended(outcome, ReasonLabel(record.Reason), SloShedding.IsShed(record.Detail));
        lock (_gate)
        {
            _classes.Add(outcome);
            var reason = ReasonLabel(record.Reason);
            _ended[reason] = _ended.GetValueOrDefault(reason) + 1;
            if (record.Completed)
            {
                _success[reason]++;
                _e2e.Observe(record.E2eS);
                if (record.TokenTimesS.Count > 1 && record.TtftS is { } ttft)
                {
                    _tpot.Observe((record.E2eS - ttft) / (record.TokenTimesS.Count - 1));
                }
            }
        }
    }

    /// <summary>A collective job was judged (once, when the server forgets it): met when every call met the job's deadline.</summary>
    public void OnJobJudged(bool met)
    {
        Instruments.JobJudged(met);
        Interlocked.Increment(ref met ? ref _jobsMet : ref _jobsMissed);
    }

    /// <summary>A request passed admission and was handed to the engine (it will end exactly once).</summary>
    public void OnAccepted()
    {
        Interlocked.Increment(ref _accepted);
        Instruments.Accepted();
    }

    /// <summary>A request was answered with an error before reaching the engine.</summary>
    public void OnRejected(string reason)
    {
        Instruments.Refused(reason);
        lock (_gate)
        {
            _rejected[reason] = _rejected.GetValueOrDefault(reason) + 1;
        }
    }

    /// <inheritdoc />
    public void Dispose() => Instruments.Dispose();

    /// <summary>OpenAI/vLLM spelling of how a request ended.</summary>
    public static string ReasonLabel(FinishReason reason) => reason switch
    {
        FinishReason.Stop => "stop",
        FinishReason.Length => "length",
        FinishReason.Aborted => "abort",
        _ => "rejected",
    };

    /// <summary>The exposition text.</summary>
    public string Render(EngineSnapshot engine, int blockSize, int gpuBlocks)
    {
        var text = new StringBuilder(8192);
        var m = _modelLabel;
        Gauge(text, "vllm:num_requests_running", "Number of requests in model execution batches.", m, engine.Running);
        Gauge(text, "vllm:num_requests_waiting", "Number of requests waiting to be processed.", m, engine.Waiting);
        Gauge(text, "vllm:num_requests_swapped", "Number of requests swapped to CPU.", m, engine.Swapped);
        Gauge(text, "vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", m, engine.KvUsage);
        Header(text, "vllm:cache_config_info", "Information of the KV-cache configuration.", "gauge");
        Sample(text, "vllm:cache_config_info", $"{m},block_size=\"{blockSize}\",num_gpu_blocks=\"{gpuBlocks}\"", 1);
        Counter(text, "vllm:num_preemptions_total", "Cumulative number of preemptions (swap or recompute).", m, engine.Preemptions);
        lock (_gate)
        {
            Counter(text, "vllm:prompt_tokens_total", "Number of prefill tokens processed.", m, _promptTokens);
            Counter(text, "vllm:generation_tokens_total", "Number of generation tokens processed.", m, _generationTokens);
            Header(text, "vllm:request_success_total", "Count of successfully processed requests.", "counter");
            foreach (var (reason, n) in _success.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                Sample(text, "vllm:request_success_total", $"{m},finished_reason=\"{reason}\"", n);
            }

            _ttft.Write(text, "vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", m);
            _itl.Write(text, "vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", m);
            _tpot.Write(text, "vllm:request_time_per_output_token_seconds", "Histogram of time per output token in seconds.", m);
            _e2e.Write(text, "vllm:e2e_request_latency_seconds", "Histogram of end-to-end request latency in seconds.", m);

            PerClass(text, "tempo_service_gain_total", "Service gain earned (weighted tokens delivered within their SLO), by request class.", c => _classes.Gain(c));
            PerClass(text, "tempo_slo_attained_total", "Requests that met their SLO, by request class.", c => _classes.Met(c));
            PerClass(text, "tempo_slo_missed_total", "Requests that missed their SLO (aborted ones included), by request class.", c => _classes.Missed(c));
            PerClass(text, "tempo_requests_shed_total", "Requests shed before their first token because their SLO could not be met (answered 429 slo_unattainable), by request class.", c => _classes.Shed(c));
            Labelled(text, "tempo_requests_ended_total", "Requests that left the engine, by finish reason (stop, length, abort, rejected).", "reason", _ended);
            Labelled(text, "tempo_requests_refused_total", "Requests answered with an error before reaching the engine, by reason.", "reason", _rejected);
        }

        Header(text, "tempo_collective_jobs_total", "Collective jobs judged, once each when the server forgets the job (max(job-state TTL, 2 x deadline) after its first call), by outcome: met when every call met the job's deadline.", "counter");
        Sample(text, "tempo_collective_jobs_total", $"{m},outcome=\"met\"", Interlocked.Read(ref _jobsMet));
        Sample(text, "tempo_collective_jobs_total", $"{m},outcome=\"missed\"", Interlocked.Read(ref _jobsMissed));
        Gauge(text, "tempo_engine_live_requests", "Requests inside the engine (waiting, running or swapped) plus those about to enter it.", m, engine.Live);
        Counter(text, "tempo_engine_steps_total", "Engine steps executed.", m, engine.Steps);
        Counter(text, "tempo_requests_accepted_total", "Requests handed to the engine; each ends exactly once (tempo_requests_ended_total).", m, Interlocked.Read(ref _accepted));
        return text.ToString();
    }

    private static void PerClass(StringBuilder text, string name, string help, Func<RequestClass, double> value)
    {
        Header(text, name, help, "counter");
        foreach (var c in Enum.GetValues<RequestClass>())
        {
            Sample(text, name, $"class=\"{c.ToString().ToLowerInvariant()}\"", value(c));
        }
    }

    private static void Labelled(StringBuilder text, string name, string help, string label, Dictionary<string, long> values)
    {
        Header(text, name, help, "counter");
        foreach (var (key, n) in values.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            Sample(text, name, $"{label}=\"{Escape(key)}\"", n);
        }
    }

    private static void Gauge(StringBuilder text, string name, string help, string labels, double value)
    {
        Header(text, name, help, "gauge");
        Sample(text, name, labels, value);
    }

    private static void Counter(StringBuilder text, string name, string help, string labels, double value)
    {
        Header(text, name, help, "counter");
        Sample(text, name, labels, value);
    }

    internal static void Header(StringBuilder text, string name, string help, string type) =>
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n')
            .Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    internal static void Sample(StringBuilder text, string name, string labels, double value) =>
        text.Append(name).Append('{').Append(labels).Append("} ").Append(Number(value)).Append('\n');

    internal static string Number(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal)
        .Replace("\"", "\\\"", StringComparison.Ordinal)
        .Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>A cumulative histogram; callers hold the metrics lock.</summary>
    private sealed class Histogram(double[] bounds)
    {
        private readonly long[] _counts = new long[bounds.Length + 1];
        private double _sum;
        private long _count;

        public void Observe(double value)
        {
            var i = Array.BinarySearch(bounds, value);
            // An exact bound belongs to its own bucket (le = less than or equal); otherwise the first larger one.
            _counts[i >= 0 ? i : ~i]++;
            _sum += value;
            _count++;
        }

        public void Write(StringBuilder text, string name, string help, string labels)
        {
            Header(text, name, help, "histogram");
            long cumulative = 0;
            for (var i = 0; i < bounds.Length; i++)
            {
                cumulative += _counts[i];
                Sample(text, name + "_bucket", $"{labels},le=\"{Number(bounds[i])}\"", cumulative);
            }

            Sample(text, name + "_bucket", $"{labels},le=\"+Inf\"", _count);
            Sample(text, name + "_sum", labels, _sum);
            Sample(text, name + "_count", labels, _count);
        }
    }
}
