using System.Text;

namespace Tempo.Workloads;

/// <summary>One synthetic chat request: token counts as the engine sees them, and a stand-in prompt text.</summary>
/// <param name="Kind">Task kind the prompt was written for.</param>
/// <param name="PromptTokens">Prompt tokens including the chat template.</param>
/// <param name="OutputTokens">True output length (capped at <see cref="SyntheticChat.MaxOutputTokens"/>).</param>
/// <param name="Text">Synthetic prompt text (without the chat template).</param>
internal readonly record struct ChatDraw(TaskKind Kind, int PromptTokens, int OutputTokens, string Text);

/// <summary>What a synthetic prompt asks for; ordered from the shortest typical answer to the longest.</summary>
internal enum TaskKind
{
    /// <summary>A one-line answer.</summary>
    Brief = 0,

    /// <summary>Rewrite, translate or classify a given snippet.</summary>
    Rewrite = 1,

    /// <summary>A list.</summary>
    List = 2,

    /// <summary>An explanation.</summary>
    Explain = 3,

    /// <summary>A program.</summary>
    Code = 4,

    /// <summary>An essay or story.</summary>
    Essay = 5,
}

/// <summary>
/// Synthetic stand-in for the artifact's LMSYS-Chat prompts (not shipped: gated licence, unsafe text). Lengths follow
/// parametric fits to the description of <c>lmsys.json</c> in evaluation note B.7 in docs/WORKLOADS.md and A.3 ("prompts mostly 2–60 tokens,
/// some hundreds; outputs from a few to 1,025, mean about 300; input ≈ prompt_len + about 25 chat-template tokens;
/// output capped by max_tokens = 1024"). These are choices made to match that summary, not fits to the data itself:
/// <list type="bullet">
/// <item>raw prompt tokens = round(LogNormal(μ = ln 18, σ = 1.2)) clamped to [1, 2048]: median 18, p5 ≈ 3, p95 ≈ 130,
/// p99 ≈ 290; the engine sees raw + 25 template tokens;</item>
/// <item>output tokens = round(LogNormal(μ = ln 193, σ = 1.1)) clamped to [1, 1024]: median 193, p5 ≈ 32, about 6.5%
/// at the 1024 cap, mean ≈ 300 after the cap.</item>
/// </list>
/// The task kind is drawn first from a latent score s ~ N(0,1) cut at fixed thresholds; the output's normal score is
/// z = ρ·s + √(1−ρ²)·ε with ρ = 0.7, so the kind shifts the length (about half the variance of log length is
/// explained by it) while z stays exactly N(0,1) and the overall output distribution is the one above.
/// </summary>
internal static class SyntheticChat
{
    /// <summary>Chat-template tokens added to every raw prompt (Llama-3 system/user/assistant headers).</summary>
    public const int TemplateTokens = 25;

    /// <summary>max_tokens of a chat call.</summary>
    public const int MaxOutputTokens = 1024;

    /// <summary>Cap on raw prompt tokens (the log-normal tail beyond it has probability ≈ 4e-5).</summary>
    public const int MaxRawPromptTokens = 2048;

    /// <summary>Median raw prompt tokens.</summary>
    public const double PromptMedian = 18;

    /// <summary>σ of ln(raw prompt tokens).</summary>
    public const double PromptSigma = 1.2;

    /// <summary>Median output tokens before the cap.</summary>
    public const double OutputMedian = 193;

    /// <summary>σ of ln(output tokens).</summary>
    public const double OutputSigma = 1.1;

    /// <summary>Correlation between the task kind's latent score and the output's normal score.</summary>
    public const double KindCorrelation = 0.7;

    // Upper thresholds of the latent score per kind (last is +∞): shares ≈ 13.6%, 20.9%, 23.4%, 20.6%, 13.1%, 8.1%.
    private static readonly double[] KindThresholds = [-1.1, -0.4, 0.2, 0.8, 1.4];

    private static readonly string[] Topics =
    [
        "photosynthesis", "the French revolution", "binary search", "compound interest", "black holes",
        "sourdough bread", "the stock market", "machine learning", "the Roman empire", "climate change",
        "jazz music", "volcanoes", "electric cars", "the immune system", "chess openings", "quantum computing",
        "coffee", "marathon training", "the water cycle", "medieval castles", "solar panels", "job interviews",
        "the human brain", "renaissance painting", "cryptography", "urban gardening", "the moon landing",
        "supply chains", "video game design", "sleep",
    ];

    // Several phrasings per kind; {0} is the topic. Opening words are what carries the kind.
    private static readonly string[][] Templates =
    [
        [
            "In one sentence, what is {0}?", "Quick question: when did {0} start?", "Define {0} in a few words.",
            "Is {0} hard to learn? Yes or no.", "Who is best known for {0}?",
        ],
        [
            "Translate into French: notes about {0}.", "Fix the grammar: me and him was reading about {0}.",
            "Classify the sentiment of this review of {0}: it was fine I guess.", "Summarize in one line this paragraph on {0}.",
            "Rewrite more politely: tell me about {0} now.",
        ],
        [
            "List five facts about {0}.", "Give me some ideas related to {0}.", "What are the main types of {0}?",
            "Name the pros and cons of {0}.", "Suggest ten questions to ask about {0}.",
        ],
        [
            "Explain how {0} works.", "Can you explain {0} to a beginner?", "Why does {0} matter? Explain step by step.",
            "Describe the history of {0}.", "What is the difference between {0} and its alternatives, and why?",
        ],
        [
            "Write a Python function that models {0}.", "Write a JavaScript program to simulate {0}.",
            "Implement a class in C# that represents {0}, with unit tests.", "Write SQL queries for a database about {0}.",
            "Debug my code for {0}: it throws an exception on the second call.",
        ],
        [
            "Write an essay about {0}.", "Write a short story set in the world of {0}.",
            "Write a detailed blog post on {0}.", "Write a long article about {0} with sections and examples.",
            "Write a screenplay scene about {0}.",
        ],
    ];

    // Padding for long prompts ("context" pasted by the user); uninformative about the answer length.
    private static readonly string[] Filler =
    [
        "the", "data", "report", "we", "found", "that", "some", "results", "were", "different", "from", "what",
        "our", "team", "expected", "after", "reading", "several", "pages", "and", "notes", "about", "this", "topic",
        "in", "previous", "meetings", "with", "a", "client", "who", "asked", "for", "more", "details", "on", "it",
    ];

    /// <summary>Draws one chat request.</summary>
    public static ChatDraw Draw(Sampler rng) => Draw(rng, LengthShape.Chat);

    /// <summary>
    /// Draws one request with the lengths of <paramref name="shape"/>; the kind and the prompt text are drawn the
    /// same way for every shape, so the kind carries the same share of the output's variance.
    /// </summary>
    public static ChatDraw Draw(Sampler rng, LengthShape shape)
    {
        var latent = rng.Normal();
        var kind = KindOf(latent);
        var z = (KindCorrelation * latent) + (Math.Sqrt(1 - (KindCorrelation * KindCorrelation)) * rng.Normal());
        var output = Clamp(Math.Exp(Math.Log(shape.OutputMedian) + (shape.OutputSigma * z)), 1, shape.MaxOutput);
        var rawPrompt = Clamp(Math.Exp(Math.Log(shape.PromptMedian) + (shape.PromptSigma * rng.Normal())), shape.MinRawPrompt, shape.MaxRawPrompt);
        var template = Templates[(int)kind][rng.Next(Templates[(int)kind].Length)];
        var topic = Topics[rng.Next(Topics.Length)];
        var text = Compose(string.Format(System.Globalization.CultureInfo.InvariantCulture, template, topic), rawPrompt, rng);
        return new ChatDraw(kind, rawPrompt + TemplateTokens, output, text);
    }

    /// <summary>The task kind of a latent score.</summary>
    internal static TaskKind KindOf(double latent)
    {
        var k = 0;
        while (k < KindThresholds.Length && latent >= KindThresholds[k])
        {
            k++;
        }

        return (TaskKind)k;
    }

    private static int Clamp(double x, int min, int max) => (int)Math.Clamp(Math.Round(x), min, max);

    /// <summary>
    /// The instruction, padded with pasted-context words or cut at a word boundary so that its length is about
    /// <paramref name="tokens"/> tokens at the usual ≈4 characters per token; the first word is always kept.
    /// </summary>
    private static string Compose(string instruction, int tokens, Sampler rng)
    {
        var targetChars = tokens * 4;
        var sb = new StringBuilder(instruction);
        if (sb.Length < targetChars)
        {
            sb.Append(" Context:");
            while (sb.Length < targetChars)
            {
                sb.Append(' ').Append(Filler[rng.Next(Filler.Length)]);
            }

            return sb.Append('.').ToString();
        }

        var cut = instruction.LastIndexOf(' ', Math.Min(targetChars, instruction.Length - 1));
        if (cut > 0)
        {
            return instruction[..cut];
        }

        var firstSpace = instruction.IndexOf(' ', StringComparison.Ordinal);
        return firstSpace > 0 ? instruction[..firstSpace] : instruction;
    }
}
