using System.Diagnostics;

using LLama.Batched;
using LLama.Native;

using Tempo.Engine;

namespace Tempo.Llama;

/// <summary>
/// Runs engine steps on a real model: each <see cref="Execute"/> applies the step's KV moves, prompts every
/// planned sequence with exactly its planned tokens (in sequence-id order), runs one forward pass (one
/// <c>llama_decode</c>) and samples each sequence that completes its pending tokens. Every request is one LLamaSharp
/// <see cref="Conversation"/> (one llama.cpp sequence) in a KV cache shared by all of them. Not thread-safe: one engine loop drives it.
/// After an exception the executor is unusable.
/// </summary>
public sealed class LlamaExecutor : IExecutor, IDisposable
{
    /// <summary>Most sequences one executor can hold (llama.cpp's limit on sequence ids).</summary>
    public const int MaxSequences = 256;

    private readonly LlamaModel _model;
    private readonly BatchedExecutor _executor;
    private readonly Dictionary<EngineRequest, Sequence> _sequences = new(ReferenceEqualityComparer.Instance);
    private readonly List<EngineRequest> _ended = [];
    private readonly List<(Sequence Sequence, BatchEntry Entry)> _ordered = [];
    private readonly int _batchSize;
    private readonly int _sequenceLimit;
    private LLamaToken[] _chunk = new LLamaToken[64];
    private bool _disposed;

    internal LlamaExecutor(LlamaModel model, EngineConfig config)
    {
        config.Validate();
        if (config.GpuBlocks * (long)config.BlockSize > model.ContextSize)
        {
            throw new ArgumentException($"engine KV of {config.GpuBlocks} blocks x {config.BlockSize} tokens exceeds the model context of {model.ContextSize} cells; use LlamaModel.EngineConfigFor");
        }

        if (config.MaxModelLen > model.ContextSize)
        {
            throw new ArgumentException($"max model length {config.MaxModelLen} exceeds the context of {model.ContextSize}");
        }

        if (config.TokenBudget > model.ContextSize)
        {
            throw new ArgumentException($"token budget {config.TokenBudget} exceeds the context of {model.ContextSize}");
        }

        _sequenceLimit = MaxSequences;
        if (model.KvLayout == LlamaKvLayout.PerSequence)
        {
            _sequenceLimit = Math.Min(MaxSequences, config.MaxBatch);
            if (config.MaxModelLen > model.ContextSize / _sequenceLimit)
            {
                throw new ArgumentException($"max model length {config.MaxModelLen} exceeds a sequence's slice of {model.ContextSize / _sequenceLimit} cells; use LlamaModel.EngineConfigFor");
            }
        }

        _model = model;
        _batchSize = config.TokenBudget;
        var parameters = model.ContextParams(config.TokenBudget, config.MaxBatch);
        _executor = new BatchedExecutor(model.Weights, parameters);
    }

    /// <summary>Sequences currently holding KV in the cache.</summary>
    public int LiveSequences => _sequences.Values.Count(s => s.Conversation is not null);

    /// <summary>Requests whose KV is saved in process memory (swapped out).</summary>
    public int SwappedSequences => _sequences.Values.Count(s => s.Saved is not null);

    /// <inheritdoc />
    public StepResult Execute(StepBatch batch)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var start = Stopwatch.GetTimestamp();
        ForgetEnded();
        foreach (var r in batch.Released)
        {
            Release(r);
        }

        foreach (var r in batch.SwappedOut)
        {
            SwapOut(r);
        }

        foreach (var r in batch.SwappedIn)
        {
            SwapIn(r);
        }

        var entries = batch.Entries;
        if (entries.Count == 0)
        {
            return new StepResult(Stopwatch.GetElapsedTime(start).TotalSeconds, []);
        }

        var tokens = 0;
        var outputs = 0;
        foreach (var e in entries)
        {
            tokens += e.Tokens;
            outputs += e.ProducesToken ? 1 : 0;
        }

        if (tokens > _batchSize)
        {
            throw new InvalidOperationException($"step of {tokens} tokens exceeds the executor's batch of {_batchSize} (the engine's token budget)");
        }

        PromptInSequenceOrder(entries);

        var result = _executor.Infer().GetAwaiter().GetResult();
        if (result != DecodeResult.Ok)
        {
            // The engine's block accounting keeps every plan inside the cache, so running out of KV cells is a
            // bookkeeping bug, not load: fail loudly rather than retry.
            var detail = result == DecodeResult.NoKvSlot
                ? $"no KV slot for a step of {tokens} tokens over {entries.Count} sequences ({LiveSequences} sequences hold KV in {_model.ContextSize} cells): the engine's KV accounting and llama.cpp disagree"
                : $"llama_decode failed with {result}";
            throw new InvalidOperationException(detail);
        }

        var produced = new SequenceOutput[outputs];
        var k = 0;
        foreach (var e in entries)
        {
            if (e.ProducesToken)
            {
                produced[k++] = SampleNext(e.Request);
            }
        }

        return new StepResult(Stopwatch.GetElapsedTime(start).TotalSeconds, produced);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var s in _sequences.Values)
        {
            s.Drop();
        }

        _sequences.Clear();
        _executor.Dispose();
    }

    private Sequence StateOf(EngineRequest r)
    {
        if (!_sequences.TryGetValue(r, out var s))
        {
            var ids = r.Spec.PromptTokenIds ?? throw new InvalidOperationException($"{r} has no prompt token ids; a real model needs RequestSpec.PromptTokenIds");
            if (ids.Count != r.PromptTokens)
            {
                throw new InvalidOperationException($"{r}: {ids.Count} prompt token ids but PromptTokens = {r.PromptTokens}");
            }

            foreach (var id in ids)
            {
                if ((uint)id >= (uint)_model.VocabularySize)
                {
                    throw new InvalidOperationException($"{r}: prompt token {id} is outside the vocabulary of {_model.VocabularySize}");
                }
            }

            s = new Sequence([.. ids], r.Spec.Sampling);
            _sequences.Add(r, s);
        }

        return s;
    }

    // With a slice of the KV cache per sequence, llama.cpp splits a batch into micro-batches of sequences whose ids
    // run consecutively in batch order (each micro-batch views a contiguous range of slices). Tokens added in the
    // scheduler's order break a step of 8 decodes into several micro-batches of one to three sequences, each a
    // matrix-vector pass over every weight: decode steps of 8 took 1.6-1.7x as long at saturation (docs/BENCHMARKS.md
    // §29.1). Sorted by sequence id, a step's decodes go in one micro-batch, as llama-server's slot loop adds them.
    private void PromptInSequenceOrder(IReadOnlyList<BatchEntry> entries)
    {
        _ordered.Clear();
        foreach (var e in entries)
        {
            _ordered.Add((Open(e), e));
        }

        _ordered.Sort(static (a, b) => ((int)a.Sequence.Conversation!.ConversationId).CompareTo((int)b.Sequence.Conversation!.ConversationId));
        foreach (var (s, e) in _ordered)
        {
            Prompt(s, e);
        }
    }

    // The request's sequence, with a conversation (a sequence id) from its first step on.
    private Sequence Open(BatchEntry e)
    {
        var s = StateOf(e.Request);
        if (s.Conversation is null)
        {
            if (e.ContextBefore != 0)
            {
                throw new InvalidOperationException($"{e.Request} resumes at token {e.ContextBefore} but holds no KV");
            }

            CheckSequenceLimit();
            s.Conversation = _executor.Create();
        }

        return s;
    }

    private void Prompt(Sequence s, BatchEntry e)
    {
        var conversation = s.Conversation!;
        if (conversation.TokenCount != e.ContextBefore)
        {
            throw new InvalidOperationException($"{e.Request}: the cache holds {conversation.TokenCount} tokens but the engine expects {e.ContextBefore}");
        }

        // The tokens of this step are positions [ContextBefore, ContextBefore + Tokens) of prompt + generated:
        // a prefill chunk, a recompute re-prefill, or the one held token of a decode.
        if (e.ContextBefore + e.Tokens > s.Length)
        {
            throw new InvalidOperationException($"{e.Request}: step needs tokens up to {e.ContextBefore + e.Tokens} but only {s.Length} are known");
        }

        if (_chunk.Length < e.Tokens)
        {
            _chunk = new LLamaToken[Math.Max(e.Tokens, 2 * _chunk.Length)];
        }

        for (var i = 0; i < e.Tokens; i++)
        {
            _chunk[i] = s.TokenAt(e.ContextBefore + i);
        }

        conversation.Prompt(_chunk.AsSpan(0, e.Tokens));
    }

    private SequenceOutput SampleNext(EngineRequest r)
    {
        var s = _sequences[r];
        var token = s.Sampler.Sample(s.Conversation!.Sample());
        s.Generated.Add(token);
        var sampling = r.Spec.Sampling;
        var eos = !sampling.IgnoreEos && _model.IsEndOfGeneration(token);

        // The engine ends the request on length after this token; show all held-back text with it.
        var last = eos || r.Generated + 1 >= r.Spec.OutputTokens;
        var (text, stopped) = s.Text.Add(_model.TokenBytes(token), last);
        if (eos && !stopped)
        {
            text += s.Text.Flush();
        }

        return new SequenceOutput(token, eos || stopped, text);
    }

    private void CheckSequenceLimit()
    {
        if (LiveSequences >= _sequenceLimit)
        {
            throw new InvalidOperationException($"more than {_sequenceLimit} sequences would hold KV at once ({_model.KvLayout} KV layout)");
        }
    }

    private void Release(EngineRequest r)
    {
        if (!_sequences.TryGetValue(r, out var s))
        {
            return;
        }

        // Recompute preemption keeps the generated tokens (they are prefilled again on resume) and the text
        // state (no token is emitted twice); a finished request is forgotten.
        s.Drop();
        if (r.State == RequestState.Finished)
        {
            _sequences.Remove(r);
        }
    }

    private void SwapOut(EngineRequest r)
    {
        var s = _sequences.GetValueOrDefault(r);
        if (s?.Conversation is null)
        {
            throw new InvalidOperationException($"{r} is swapped out but holds no KV");
        }

        s.Saved = s.Conversation.Save();
        s.Conversation.Dispose();
        s.Conversation = null;
    }

    private void SwapIn(EngineRequest r)
    {
        var s = _sequences.GetValueOrDefault(r);
        if (s?.Saved is null)
        {
            throw new InvalidOperationException($"{r} is swapped in but has no saved KV");
        }

        CheckSequenceLimit();
        s.Conversation = _executor.Load(s.Saved);
        s.Saved.Dispose();
        s.Saved = null;
    }

    // Requests that ended while swapped out or waiting are never released to the executor; drop their state.
    private void ForgetEnded()
    {
        foreach (var (r, s) in _sequences)
        {
            if (r.State == RequestState.Finished && s.Conversation is null)
            {
                _ended.Add(r);
            }
        }

        foreach (var r in _ended)
        {
            _sequences[r].Drop();
            _sequences.Remove(r);
        }

        _ended.Clear();
    }

    private sealed class Sequence(int[] prompt, Core.SamplingParams sampling)
    {
        public Conversation? Conversation { get; set; }

        public Conversation.State? Saved { get; set; }

        public List<int> Generated { get; } = [];

        public TokenSampler Sampler { get; } = new(sampling);

        public ResponseText Text { get; } = new(sampling.Stop);

        public int Length => prompt.Length + Generated.Count;

        public LLamaToken TokenAt(int position) => position < prompt.Length ? prompt[position] : Generated[position - prompt.Length];

        public void Drop()
        {
            Conversation?.Dispose();
            Conversation = null;
            Saved?.Dispose();
            Saved = null;
        }
    }
}
