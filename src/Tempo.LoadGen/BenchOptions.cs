using Tempo.Core;

namespace Tempo.LoadGen;

/// <summary>How <see cref="LoadGenerator"/> talks to the server and when it stops.</summary>
public sealed record BenchOptions
{
    /// <summary>Default per-request timeout: generous, because a long output on a slow CPU model can take minutes.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(600);

    /// <summary>Default safety limit on requests in flight; open-loop replay should never reach it.</summary>
    public const int DefaultMaxInFlight = 4096;

    /// <summary>Server root as returned by <see cref="ServerUrl.Parse"/>.</summary>
    public required Uri BaseUrl { get; init; }

    /// <summary>Endpoint to post to.</summary>
    public ApiEndpoint Endpoint { get; init; } = ApiEndpoint.Completions;

    /// <summary>Model name to send; null asks <c>GET /v1/models</c> and takes the first id (falling back to "default").</summary>
    public string? Model { get; init; }

    /// <summary>Bearer token, if the server wants one.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Limit on one request, from send to the end of its stream; a request over it is aborted as "timeout".</summary>
    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    /// <summary>
    /// Stop sending new top-level arrivals this many seconds after the first one (later stages of jobs already started
    /// are still sent). Null: send the whole workload.
    /// </summary>
    public double? DurationS { get; init; }

    /// <summary>Safety limit on concurrent requests; a send that would exceed it waits and is counted.</summary>
    public int MaxInFlight { get; init; } = DefaultMaxInFlight;

    /// <summary>Send the <c>slo</c> body extension and the llm-d SLO headers (servers that do not know them ignore them).</summary>
    public bool SendSlo { get; init; } = true;

    /// <summary>
    /// Send each completions prompt as exactly <see cref="RequestSpec.PromptTokens"/> token ids instead of text, so the
    /// server's prompt length is the workload's whatever its tokenizer. Completions endpoint only.
    /// </summary>
    public bool PromptTokenIds { get; init; }

    /// <summary>Service-gain weights for the metrics.</summary>
    public GainWeights Weights { get; init; } = GainWeights.Paper;

    /// <summary>Throws <see cref="ArgumentException"/> with a one-line message naming the first invalid option.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(BaseUrl);
        if (!Enum.IsDefined(Endpoint))
        {
            throw new ArgumentException($"unknown endpoint {(int)Endpoint}.");
        }

        if (PromptTokenIds && Endpoint == ApiEndpoint.Chat)
        {
            throw new ArgumentException("prompt token ids need the completions endpoint; chat messages are text.");
        }

        if (Timeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"timeout must be positive, got {Timeout.TotalSeconds} s.");
        }

        if (DurationS is { } d && (!double.IsFinite(d) || d <= 0))
        {
            throw new ArgumentException($"duration must be a positive number of seconds, got {d}.");
        }

        if (MaxInFlight < 1)
        {
            throw new ArgumentException($"max in flight must be at least 1, got {MaxInFlight}.");
        }

        if (Model is not null && string.IsNullOrWhiteSpace(Model))
        {
            throw new ArgumentException("model name must not be empty.");
        }
    }
}
