using System.Text;

namespace ResultGrid.Tests;

/// <summary>
/// One fenced code block of a guide under docs/: its file, the line of its opening fence
/// (1-based, as an editor shows it), its info string and its text. A block is runnable when its
/// info string is a shell language followed by the word <c>runnable</c> (<c>```bash runnable</c>),
/// the convention docs/README.md documents.
/// </summary>
public sealed record DocsBlock(string File, int Line, string Info, string Text)
{
    private static readonly string[] Shells = ["bash", "sh", "shell"];

    public bool IsRunnable
    {
        get
        {
            var words = Info.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return words.Length > 1 && Shells.Contains(words[0], StringComparer.Ordinal) && words.Skip(1).Contains("runnable", StringComparer.Ordinal);
        }
    }

    /// <summary>
    /// Every fenced block of a Markdown file, in order. A fence is three or more backticks or
    /// tildes at the start of a line (indented up to three spaces, as CommonMark allows); the
    /// block ends at a line of at least as many of the same character and nothing else, so a
    /// longer fence can show a shorter one inside it.
    /// </summary>
    public static IReadOnlyList<DocsBlock> Parse(string file, string markdown)
    {
        var blocks = new List<DocsBlock>();
        var lines = markdown.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (!TryOpen(lines[i], out var fence, out var info))
            {
                continue;
            }

            var start = i;
            var text = new StringBuilder();
            for (i++; i < lines.Length && !Closes(lines[i], fence); i++)
            {
                text.Append(lines[i]).Append('\n');
            }

            blocks.Add(new DocsBlock(file, start + 1, info, text.ToString()));
        }

        return blocks;
    }

    private static bool TryOpen(string line, out string fence, out string info)
    {
        var trimmed = line.TrimStart(' ');
        fence = string.Empty;
        info = string.Empty;
        if (line.Length - trimmed.Length > 3 || trimmed.Length < 3 || (trimmed[0] != '`' && trimmed[0] != '~'))
        {
            return false;
        }

        var length = 0;
        while (length < trimmed.Length && trimmed[length] == trimmed[0])
        {
            length++;
        }

        if (length < 3)
        {
            return false;
        }

        fence = trimmed[..length];
        info = trimmed[length..].Trim();
        return true;
    }

    private static bool Closes(string line, string fence)
    {
        var trimmed = line.Trim();
        return trimmed.Length >= fence.Length && trimmed.All(c => c == fence[0]);
    }
}
