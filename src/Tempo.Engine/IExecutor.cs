namespace Tempo.Engine;

/// <summary>One sequence's work as the executor sees it.</summary>
/// <param name="Request">The request.</param>
/// <param name="Tokens">Tokens processed this step.</param>
/// <param name="ContextBefore">Tokens already in its KV before this step.</param>
/// <param name="IsDecode">True for a one-token decode, false for a prefill chunk.</param>
/// <param name="ProducesToken">True when this work completes the pending tokens, so an output token is sampled.</param>
public readonly record struct BatchEntry(EngineRequest Request, int Tokens, int ContextBefore, bool IsDecode, bool ProducesToken)
{
    /// <summary>The entry's work without the request.</summary>
    public WorkShape Shape => new(Tokens, ContextBefore, IsDecode, ProducesToken);
}

/// <summary>What the executor must run in one step: KV moves, then one forward pass over the entries.</summary>
public sealed class StepBatch
{
    internal StepBatch(double plannedAtS, IReadOnlyList<BatchEntry> entries, IReadOnlyList<EngineRequest> swappedOut, IReadOnlyList<EngineRequest> swappedIn, IReadOnlyList<EngineRequest> released, int swapOutBlocks, int swapInBlocks)
    {
        PlannedAtS = plannedAtS;
        Entries = entries;
        SwappedOut = swappedOut;
        SwappedIn = swappedIn;
        Released = released;
        SwapOutBlocks = swapOutBlocks;
        SwapInBlocks = swapInBlocks;
    }

    /// <summary>Clock time when the engine began planning this step (the policy decided at this time).</summary>
    public double PlannedAtS { get; }

    /// <summary>Sequences in the forward pass.</summary>
    public IReadOnlyList<BatchEntry> Entries { get; }

    /// <summary>Requests whose KV moves GPU→CPU before the pass.</summary>
    public IReadOnlyList<EngineRequest> SwappedOut { get; }

    /// <summary>Requests whose KV moves CPU→GPU before the pass.</summary>
    public IReadOnlyList<EngineRequest> SwappedIn { get; }

    /// <summary>Requests whose KV was dropped (recompute preemption, abort or finish) since the last step.</summary>
    public IReadOnlyList<EngineRequest> Released { get; }

    /// <summary>Blocks moved GPU→CPU.</summary>
    public int SwapOutBlocks { get; }

    /// <summary>Blocks moved CPU→GPU.</summary>
    public int SwapInBlocks { get; }
}

/// <summary>The sampled output of one sequence that produced a token.</summary>
/// <param name="TokenId">Token id (simulation: 0).</param>
/// <param name="Stop">True when the model ended the response (EOS or stop string).</param>
/// <param name="Text">Decoded text piece, when the executor has a tokenizer.</param>
public readonly record struct SequenceOutput(int TokenId, bool Stop, string? Text = null);

/// <summary>The result of running a step.</summary>
/// <param name="DurationS">How long the step took (measured, or modelled in simulation).</param>
/// <param name="Outputs">One output per batch entry with <see cref="BatchEntry.ProducesToken"/>, in batch order; null when no executor-side stop is possible.</param>
/// <param name="EndS">
/// Clock time at which the step's tokens came out, when the executor knows it (a step log records it, so a replay
/// stamps the same times); null lets the engine read its clock when it applies the step.
/// </param>
public sealed record StepResult(double DurationS, IReadOnlyList<SequenceOutput>? Outputs = null, double? EndS = null);

/// <summary>Runs steps: a cost model in simulation, a real model when serving.</summary>
public interface IExecutor
{
    /// <summary>Runs one step. A simulated executor also advances its virtual clock by the duration.</summary>
    StepResult Execute(StepBatch batch);
}
