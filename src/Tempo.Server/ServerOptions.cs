using Tempo.Core;

namespace Tempo.Server;

/// <summary>How <see cref="TempoServer"/> listens, schedules and admits requests.</summary>
public sealed record ServerOptions
{
    /// <summary>Address to bind. Loopback unless told otherwise, so a dev server is never exposed by accident.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one (see <see cref="TempoServer.BaseAddress"/>).</summary>
    public int Port { get; init; } = 8000;

    /// <summary>When set, every <c>/v1/*</c> call must send <c>Authorization: Bearer &lt;key&gt;</c> (as vLLM's <c>--api-key</c>).</summary>
    public string? ApiKey { get; init; }

    /// <summary>Scheduling policy name from the policy registry.</summary>
    public string Policy { get; init; } = "tempo";

    /// <summary>Maximum sequences per engine step.</summary>
    public int MaxBatch { get; init; } = 32;

    /// <summary>Tokens per engine step; null means the policy's own default.</summary>
    public int? TokenBudget { get; init; }

    /// <summary>
    /// Most requests allowed to wait for their first scheduling (accepted but not yet running); one more is
    /// answered 429 with Retry-After. Bounds the queue so overload is visible to routers instead of growing latency.
    /// </summary>
    public int MaxQueue { get; init; } = 256;

    /// <summary>Class of a request that declares no SLO.</summary>
    public RequestClass DefaultClass { get; init; } = RequestClass.Latency;

    /// <summary>SLO of a request that declares none, and the source of any field a request leaves out.</summary>
    public Slo DefaultSlo { get; init; } = new(1.0, 0.1, 10.0);

    /// <summary><c>max_tokens</c> when a request omits it (capped by what the context leaves).</summary>
    public int DefaultMaxTokens { get; init; } = 256;

    /// <summary>Model name served on <c>/v1/models</c> and required in requests; null uses the backend's.</summary>
    public string? ServedModelName { get; init; }

    /// <summary>Token weights of service gain.</summary>
    public GainWeights Weights { get; init; } = GainWeights.Paper;

    /// <summary>How long a shutdown lets in-flight requests finish before aborting them.</summary>
    public TimeSpan ShutdownGrace { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// During a drain with nothing left in flight, how long the listener keeps answering 503 before it closes (1 s),
    /// so health checks see the replica leave; never longer than <see cref="ShutdownGrace"/>.
    /// </summary>
    public TimeSpan DrainIdleLinger { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Interval of the periodic stats log line; zero or negative turns it off.</summary>
    public TimeSpan StatsInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Stop on SIGTERM / Ctrl+C (the <c>tempo serve</c> process). Off for in-process servers such as tests, which
    /// must not take over their host process's signals.
    /// </summary>
    public bool HandleProcessSignals { get; init; }

    /// <summary>
    /// When set, every step that runs a forward pass is appended to this JSON-lines file (<see cref="Engine.StepLog"/>):
    /// start time, measured duration and the shape of its batch. <c>tempo fidelity</c> prices those steps with a
    /// cost profile to measure the simulator's per-step error.
    /// </summary>
    public string? StepLogPath { get; init; }

    /// <summary>
    /// Parameters of the <c>tempo</c> policy (mechanisms on or off, for an A/B on a real engine); null keeps its
    /// defaults. Other policies ignore it.
    /// </summary>
    public Scheduling.Gain.SelectEdf.SelectEdfOptions? Tempo { get; init; }

    /// <summary>
    /// Response-length predictor of the policies that use one (<c>tempo</c>, <c>sjf</c>, <c>slos-serve</c>); null keeps
    /// each policy's default (the artifact's fixed 1,024-token bound). A server cannot see true lengths, so an oracle
    /// makes no sense here.
    /// </summary>
    public Scheduling.Prediction.ILengthPredictor? Predictor { get; init; }

    /// <summary>
    /// Let the policy shed a request whose SLO it can no longer meet before the request's first token: it is answered
    /// 429 with code <c>slo_unattainable</c> and <c>Retry-After</c>, so a client or router can go elsewhere. Streams
    /// then send their response headers with the first token instead of at acceptance, so a shed stream still gets the
    /// 429. Needs a policy that judges this (<see cref="Scheduling.PolicyInfo.Sheds"/>).
    /// </summary>
    public bool ShedUnattainable { get; init; }

    /// <summary>
    /// Most stages a collective job may declare (<c>slo.stage_count</c>). The scheduler keeps per-stage state for a
    /// job, so an unbounded count would let one request allocate without limit. Deep-research jobs have tens.
    /// </summary>
    public int MaxStageCount { get; init; } = 1024;

    /// <summary>Collective jobs whose id mapping the server remembers at once; beyond it the oldest is forgotten.</summary>
    public int MaxTrackedJobs { get; init; } = 10_000;

    /// <summary>
    /// Shortest time a collective job's state is kept after its first call; a job is forgotten after this or twice
    /// its deadline, whichever is longer, so a job that never sends its last stage does not stay forever.
    /// </summary>
    public TimeSpan JobStateTtl { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Largest prompt accepted, in UTF-8 bytes per token of context (32): a longer text cannot fit the context under
    /// any real tokenizer, so it is refused before it is tokenized (tokenizing 10 MB costs seconds of CPU).
    /// </summary>
    public int MaxPromptBytesPerContextToken { get; init; } = 32;

    /// <summary>Largest request body Kestrel reads (4 MiB); a larger one is answered 413.</summary>
    public long MaxRequestBodyBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Largest total size of a request's headers (32 KiB, Kestrel's default); larger is answered 431.</summary>
    public int MaxRequestHeadersBytes { get; init; } = 32 * 1024;

    /// <summary>How long a client may take to send its request headers (10 s) before the connection is closed.</summary>
    public TimeSpan RequestHeadersTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long an idle keep-alive connection stays open (60 s).</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Most open client connections (4,096); further connections are refused by Kestrel.</summary>
    public long MaxConcurrentConnections { get; init; } = 4096;

    /// <summary>Longest accepted SLO bound (24 h): larger values are treated as mistakes, not as "no SLO".</summary>
    public const double MaxSloMs = 86_400_000;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        Require(!string.IsNullOrWhiteSpace(Host), "host must not be empty");
        Require(Port is >= 0 and <= 65535, $"port must be in 0..65535, got {Port}");
        Require(ApiKey is null || ApiKey.Length > 0, "api key must not be empty");
        Require(MaxBatch > 0, $"max batch must be positive, got {MaxBatch}");
        Require(TokenBudget is null or > 0, $"token budget must be positive, got {TokenBudget}");
        Require(MaxQueue > 0, $"max queue must be positive, got {MaxQueue}");
        Require(DefaultMaxTokens > 0, $"default max tokens must be positive, got {DefaultMaxTokens}");
        Require(ShutdownGrace >= TimeSpan.Zero, "shutdown grace cannot be negative");
        Require(DrainIdleLinger >= TimeSpan.Zero, "drain idle linger cannot be negative");
        DefaultSlo.Validate();
        Require(DefaultSlo.TtftS > 0 && DefaultSlo.TbtS > 0 && DefaultSlo.DeadlineS > 0, "default SLO bounds must be positive");
        Require(Math.Max(DefaultSlo.TtftS, Math.Max(DefaultSlo.TbtS, DefaultSlo.DeadlineS)) * 1000 <= MaxSloMs, "default SLO bounds must not exceed 24 h");
        Require(MaxStageCount is >= 1 and <= RequestSpec.MaxStageCount, $"max stage count must be in 1..{RequestSpec.MaxStageCount}, got {MaxStageCount}");
        Require(MaxTrackedJobs >= 1, $"max tracked jobs must be positive, got {MaxTrackedJobs}");
        Require(JobStateTtl > TimeSpan.Zero, "job state TTL must be positive");
        Require(MaxPromptBytesPerContextToken >= 1, "max prompt bytes per context token must be positive");
        Require(MaxRequestBodyBytes >= 1024, $"max request body must be at least 1024 bytes, got {MaxRequestBodyBytes}");
        Require(MaxRequestHeadersBytes >= 1024, $"max request headers must be at least 1024 bytes, got {MaxRequestHeadersBytes}");
        Require(RequestHeadersTimeout > TimeSpan.Zero && KeepAliveTimeout > TimeSpan.Zero, "header and keep-alive timeouts must be positive");
        Require(MaxConcurrentConnections >= 1, $"max concurrent connections must be positive, got {MaxConcurrentConnections}");
        Require(DefaultClass != RequestClass.Collective, "the default class cannot be collective: a collective call needs a job id");
    }

    private static void Require(bool ok, string message)
    {
        if (!ok)
        {
            throw new ArgumentException(message);
        }
    }
}
