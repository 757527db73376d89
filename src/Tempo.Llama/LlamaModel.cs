using System.Text;

using LLama;
using LLama.Common;
using LLama.Native;

using Tempo.Engine;

namespace Tempo.Llama;

/// <summary>
/// A GGUF model loaded with LLamaSharp (CPU backend): its weights, tokenizer and the context shape that every
/// executor created from it uses. Thread-safe for tokenization; each <see cref="LlamaExecutor"/> it creates
/// owns its own KV cache and must be driven by one loop.
/// </summary>
/// <remarks>
/// Use from a server:
/// <code>
/// using var model = LlamaModel.Load("model.gguf", threads: null, contextSize: 4096);
/// var config = model.EngineConfigFor(maxBatch: 8, tokenBudget: 256);
/// using var executor = model.CreateExecutor(config);
/// var engine = new EngineCore(config, scheduler, executor, new WallClock());
/// var ids = model.Tokenize("Hello", addBos: true);   // RequestSpec.PromptTokenIds, PromptTokens = ids.Length
/// </code>
/// Generated text arrives through <see cref="SequenceOutput.Text"/> of each emitted token.
/// </remarks>
public sealed class LlamaModel : IDisposable
{
    private static readonly Lock NativeSetup = new();
    private readonly LLamaWeights _weights;
    private readonly SafeLlamaModelHandle.Vocabulary _vocab;

    private LlamaModel(string path, LLamaWeights weights, int threads, int contextSize, LlamaKvLayout kvLayout)
    {
        KvLayout = kvLayout;
        Path = path;
        _weights = weights;
        _vocab = weights.Vocab;
        Threads = threads;
        ContextSize = contextSize;
        EosToken = _vocab.EOS is { } eos ? (int)eos : -1;
        BosToken = _vocab.BOS is { } bos ? (int)bos : -1;
        AddsSpacePrefix = _vocab.Type == LLamaVocabType.SentencePiece;
    }

    /// <summary>The GGUF file.</summary>
    public string Path { get; }

    /// <summary>CPU threads used for every forward pass.</summary>
    public int Threads { get; }

    /// <summary>KV-cache cells (tokens) of an executor's context, shared by all its sequences.</summary>
    public int ContextSize { get; }

    /// <summary>How executors lay out their KV cache.</summary>
    public LlamaKvLayout KvLayout { get; }

    /// <summary>Context length the model was trained with (from the GGUF metadata).</summary>
    public int TrainingContextSize => _weights.ContextSize;

    /// <summary>Vocabulary size.</summary>
    public int VocabularySize => _vocab.Count;

    /// <summary>End-of-sequence token id, or -1 when the model has none.</summary>
    public int EosToken { get; }

    /// <summary>Beginning-of-sequence token id, or -1 when the model has none.</summary>
    public int BosToken { get; }

    /// <summary>Weights in the model.</summary>
    public long ParameterCount => (long)_weights.ParameterCount;

    /// <summary>Size of the weights in bytes.</summary>
    public long SizeInBytes => (long)_weights.SizeInBytes;

    internal LLamaWeights Weights => _weights;

    /// <summary>The chat template stored in the file (<c>tokenizer.chat_template</c>), or null when it has none.</summary>
    public string? ChatTemplate => _weights.Metadata.TryGetValue("tokenizer.chat_template", out var t) && !string.IsNullOrWhiteSpace(t) ? t : null;

    /// <summary>
    /// The prompt for a conversation in the model's own chat format, ending where the assistant's answer starts:
    /// llama.cpp applies the file's template (it recognises the common families: Llama 2 and 3, ChatML/Qwen, Mistral,
    /// Gemma, Phi-3 and more). Returns null when the file has no template, or one llama.cpp does not recognise; the
    /// caller then chooses a fallback. Thread-safe: each call builds its own template state.
    /// </summary>
    public string? ApplyChatTemplate(IEnumerable<(string Role, string Content)> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (ChatTemplate is null)
        {
            return null;
        }

        try
        {
            var template = new LLamaTemplate(_weights, strict: true) { AddAssistant = true };
            foreach (var (role, content) in messages)
            {
                template.Add(role, content);
            }

            return Encoding.UTF8.GetString(template.Apply());
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or LLama.Exceptions.RuntimeError)
        {
            // llama.cpp could not apply this template (a family it does not know).
            return null;
        }
    }

    // SentencePiece vocabularies turn a leading space into part of the first piece; detokenizing drops it again.
    private bool AddsSpacePrefix { get; }

    /// <summary>
    /// Loads a GGUF model. <paramref name="threads"/> null means all cores. <paramref name="contextSize"/> is the
    /// number of KV cells each executor gets (all sequences share them); null means the model's training context.
    /// Throws <see cref="FileNotFoundException"/> for a missing file and <see cref="InvalidDataException"/> when
    /// llama.cpp cannot load it. <paramref name="kvLayout"/> chooses one shared pool of cells (default) or one
    /// equal slice per sequence (faster attention, but a request's context is limited to its slice).
    /// </summary>
    public static LlamaModel Load(string path, int? threads = null, int? contextSize = null, LlamaKvLayout kvLayout = LlamaKvLayout.Shared)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new FileNotFoundException($"model file not found: {full}", full);
        }

        var n = threads ?? Environment.ProcessorCount;
        if (n <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(threads), threads, "threads must be positive");
        }

        if (contextSize is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(contextSize), contextSize, "context size must be positive");
        }

        ConfigureNativeLogging();
        LLamaWeights weights;
        try
        {
            weights = LLamaWeights.LoadFromFile(new ModelParams(full) { GpuLayerCount = 0 });
        }
        catch (Exception e) when (e is LLama.Exceptions.LoadWeightsFailedException or LLama.Exceptions.RuntimeError)
        {
            throw new InvalidDataException($"llama.cpp could not load '{full}': {e.Message}", e);
        }

        return new LlamaModel(full, weights, n, contextSize ?? weights.ContextSize, kvLayout);
    }

    /// <summary>
    /// Engine limits that match this model's KV cache: one engine block per <paramref name="blockSize"/> cells of
    /// the context, so the engine's block accounting never admits more than llama.cpp can hold. CPU swap space
    /// (kept in process memory) is as large as the cache. With <see cref="LlamaKvLayout.PerSequence"/> a request's
    /// context is limited to its slice, <c>ContextSize / maxBatch</c>, and at most <paramref name="maxBatch"/>
    /// requests may hold KV at once.
    /// </summary>
    public EngineConfig EngineConfigFor(int maxBatch, int tokenBudget, int blockSize = 16)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBatch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tokenBudget);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blockSize);
        var blocks = ContextSize / blockSize;
        if (blocks < 1)
        {
            throw new ArgumentException($"context of {ContextSize} tokens is smaller than one block of {blockSize}");
        }

        maxBatch = Math.Min(maxBatch, LlamaExecutor.MaxSequences);
        var maxLen = KvLayout == LlamaKvLayout.Shared ? blocks * blockSize : ContextSize / maxBatch / blockSize * blockSize;
        if (maxLen < 2)
        {
            throw new ArgumentException($"a context of {ContextSize} cells split over {maxBatch} sequences leaves less than one block each");
        }

        return new EngineConfig
        {
            MaxBatch = maxBatch,
            TokenBudget = tokenBudget,
            BlockSize = blockSize,
            GpuBlocks = blocks,
            CpuBlocks = blocks,
            MaxModelLen = maxLen,
        };
    }

    /// <summary>
    /// Creates an executor with its own KV cache of <see cref="ContextSize"/> cells. Its batch size is the
    /// config's token budget, so each engine step is exactly one forward pass. The config must fit the cache
    /// (use <see cref="EngineConfigFor"/>).
    /// </summary>
    public LlamaExecutor CreateExecutor(EngineConfig config) => new(this, config);

    /// <summary>Context parameters of an executor: the whole cache, one forward pass per step of up to <paramref name="batchTokens"/> tokens.</summary>
    internal ModelParams ContextParams(int batchTokens, int maxSequences) => new(Path)
    {
        ContextSize = (uint)ContextSize,

        // One engine step must be one llama_decode: a larger plan would be split over several batches, and
        // sequences in the earlier ones would lose their logits before they are sampled.
        BatchSize = (uint)batchTokens,
        UBatchSize = (uint)batchTokens,
        SeqMax = (uint)Math.Min(LlamaExecutor.MaxSequences, maxSequences),
        Threads = Threads,
        BatchThreads = Threads,

        // Shared: one pool of cells for every sequence, exactly what the engine's block accounting models, but
        // each token attends over all cells in use. Per sequence: SeqMax equal slices, attention over its own.
        KVUnified = KvLayout == LlamaKvLayout.Shared,
        GpuLayerCount = 0,
    };

    /// <summary>Token ids of <paramref name="text"/>; <paramref name="addBos"/> prepends the BOS token when the model has one.</summary>
    public int[] Tokenize(string text, bool addBos)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0)
        {
            return addBos && BosToken >= 0 ? [BosToken] : [];
        }

        var tokens = _weights.Tokenize(text, addBos, special: false, Encoding.UTF8);
        var ids = new int[tokens.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = (int)tokens[i];
        }

        return ids;
    }

    /// <summary>
    /// The UTF-8 bytes of one token as the model would print it (control tokens such as BOS/EOS print nothing).
    /// Pieces of multi-byte characters are partial; use <see cref="Detokenize"/> or a <see cref="Decoder"/> over
    /// these bytes to get whole characters.
    /// </summary>
    public byte[] TokenBytes(int token)
    {
        CheckToken(token);
        Span<byte> buffer = stackalloc byte[64];
        var written = (int)_weights.NativeHandle.TokenToSpan(token, buffer, 0, false);
        if (written > buffer.Length)
        {
            var big = new byte[written];
            _weights.NativeHandle.TokenToSpan(token, big, 0, false);
            return big;
        }

        return buffer[..written].ToArray();
    }

    /// <summary>One token's text (a partial multi-byte character shows as U+FFFD).</summary>
    public string TokenToText(int token) => Encoding.UTF8.GetString(TokenBytes(token));

    /// <summary>The text of a token sequence; <c>Detokenize(Tokenize(s, addBos))</c> gives back <c>s</c>.</summary>
    public string Detokenize(IEnumerable<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var bytes = new List<byte>();
        var first = true;
        foreach (var t in tokens)
        {
            var piece = TokenBytes(t);
            if (piece.Length == 0)
            {
                continue;
            }

            // The tokenizer prefixed the text with a space; remove it from the first printed piece.
            var skip = first && AddsSpacePrefix && piece[0] == (byte)' ' ? 1 : 0;
            first = false;
            bytes.AddRange(piece.AsSpan(skip));
        }

        return Encoding.UTF8.GetString([.. bytes]);
    }

    /// <summary>True when <paramref name="token"/> ends generation (EOS, EOT and similar).</summary>
    public bool IsEndOfGeneration(int token) => ((LLamaToken)token).IsEndOfGeneration(_vocab);

    /// <inheritdoc />
    public void Dispose() => _weights.Dispose();

    private void CheckToken(int token)
    {
        if ((uint)token >= (uint)_vocab.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(token), token, $"token id outside the vocabulary of {_vocab.Count}");
        }
    }

    private static void ConfigureNativeLogging()
    {
        lock (NativeSetup)
        {
            // The loader configuration freezes at the first native call; llama.cpp otherwise prints its whole load
            // log. Only errors are worth a line on stderr.
            if (!NativeLibraryConfig.LLama.LibraryHasLoaded)
            {
                NativeLibraryConfig.All.WithLogCallback((level, message) =>
                {
                    if (level == LLamaLogLevel.Error)
                    {
                        Console.Error.Write("llama.cpp: " + message);
                    }
                });
            }
        }
    }
}

/// <summary>How an executor's KV cache is divided among sequences.</summary>
public enum LlamaKvLayout
{
    /// <summary>One pool of <see cref="LlamaModel.ContextSize"/> cells shared by all sequences (llama.cpp unified KV).</summary>
    Shared,

    /// <summary>
    /// One equal slice per sequence slot (<c>ContextSize / MaxBatch</c> cells): attention reads only a sequence's
    /// own cells, which is faster with many sequences, but at most MaxBatch requests may hold KV at once.
    /// </summary>
    PerSequence,
}
