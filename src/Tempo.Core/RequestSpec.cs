namespace Tempo.Core;

/// <summary>
/// What a client asks for: one LLM call with its SLO. Workloads are lists of these; the engine turns each
/// into live state. Collective calls name their job and stage; a stage is released only when the previous
/// stage of the same job has finished, so their <see cref="ArrivalS"/> is the job's arrival.
/// </summary>
public sealed record RequestSpec
{
    /// <summary>Unique id within a run.</summary>
    public required long Id { get; init; }

    /// <summary>Arrival time in seconds (for collective calls: the arrival of the job).</summary>
    public required double ArrivalS { get; init; }

    /// <summary>Request class.</summary>
    public required RequestClass Class { get; init; }

    /// <summary>SLO after per-request scaling.</summary>
    public required Slo Slo { get; init; }

    /// <summary>Prompt length in tokens.</summary>
    public required int PromptTokens { get; init; }

    /// <summary>Output tokens to generate: the true length in simulation, max_tokens for a real engine.</summary>
    public required int OutputTokens { get; init; }

    /// <summary>Tenant, for fair-share policies.</summary>
    public int ClientId { get; init; }

    /// <summary>vLLM-style integer priority; lower is served first.</summary>
    public int Priority { get; init; }

    /// <summary>Job id of a collective call; null otherwise.</summary>
    public long? JobId { get; init; }

    /// <summary>Stage index within the job (0-based).</summary>
    public int Stage { get; init; }

    /// <summary>Number of stages of the job, when known.</summary>
    public int StageCount { get; init; } = 1;

    /// <summary>Application of a collective job (for example "tot" or "deep-research").</summary>
    public string? App { get; init; }

    /// <summary>Prompt text, when the workload has it (used by text-feature length predictors).</summary>
    public string? PromptText { get; init; }

    /// <summary>Prompt token ids for a real model (the server tokenizes); null in simulation.</summary>
    public IReadOnlyList<int>? PromptTokenIds { get; init; }

    /// <summary>How a real model samples this request's tokens; ignored by the simulator.</summary>
    public SamplingParams Sampling { get; init; } = SamplingParams.Greedy;

    /// <summary>
    /// Most stages a job may declare. Schedulers keep per-stage state, so the count must be bounded where requests
    /// enter, whatever their source (server, workload file, generator).
    /// </summary>
    public const int MaxStageCount = 4096;

    /// <summary>Throws <see cref="ArgumentException"/> when the spec is not a valid request.</summary>
    public void Validate()
    {
        if (PromptTokens <= 0)
        {
            throw new ArgumentException($"request {Id}: prompt must have at least one token, got {PromptTokens}.");
        }

        if (OutputTokens <= 0)
        {
            throw new ArgumentException($"request {Id}: output tokens must be positive, got {OutputTokens}.");
        }

        if (!double.IsFinite(ArrivalS) || ArrivalS < 0)
        {
            throw new ArgumentException($"request {Id}: arrival must be a finite non-negative time, got {ArrivalS}.");
        }

        if (StageCount is < 1 or > MaxStageCount || Stage < 0 || Stage >= StageCount)
        {
            throw new ArgumentException($"request {Id}: stage {Stage} of {StageCount} is out of range (0 <= stage < stage count <= {MaxStageCount}).");
        }

        Slo.Validate();
        if (Class == RequestClass.Collective && JobId is null)
        {
            throw new ArgumentException($"request {Id}: a collective call needs a job id.");
        }
    }
}
