// SPDX-License-Identifier: GPL-2.0-or-later
// Finds `return` statements that end a Catch2 test case early: a test that returns instead of
// checking passes by doing nothing. The only way a test may stop early is the project's skip
// helper (tests/common/skip.h), which fails where every test must run (CI). A return inside a
// lambda, or inside a function of a local class, ends that function, not the test, and is fine.
// A small lexer: it skips comments, string, character and raw-string literals.
#pragma once

#include <cctype>
#include <string>
#include <vector>

namespace veeamha::test {

struct EarlyReturn {
    int line = 0;        // 1-based
    std::string test;    // the test case's first argument, as written
};

inline std::vector<EarlyReturn> find_early_returns(const std::string& src) {
    // 1. Blank out comments and literals (keeping line breaks), so braces and words are code.
    std::string code = src;
    for (size_t i = 0; i < code.size();) {
        auto blank = [&](size_t from, size_t to) {
            for (size_t k = from; k < to && k < code.size(); ++k)
                if (code[k] != '\n') code[k] = ' ';
        };
        if (code.compare(i, 2, "//") == 0) {
            size_t e = code.find('\n', i);
            e = e == std::string::npos ? code.size() : e;
            blank(i, e);
            i = e;
        } else if (code.compare(i, 2, "/*") == 0) {
            size_t e = code.find("*/", i + 2);
            e = e == std::string::npos ? code.size() : e + 2;
            blank(i, e);
            i = e;
        } else if (code[i] == 'R' && i + 1 < code.size() && code[i + 1] == '"' &&
                   (i == 0 || !(std::isalnum(static_cast<unsigned char>(code[i - 1])) || code[i - 1] == '_'))) {
            size_t open = code.find('(', i + 2);
            if (open == std::string::npos) break;
            std::string close = ")" + code.substr(i + 2, open - i - 2) + "\"";
            size_t e = code.find(close, open);
            e = e == std::string::npos ? code.size() : e + close.size();
            blank(i + 1, e);
            i = e;
        } else if (code[i] == '"' || code[i] == '\'') {
            char q = code[i];
            size_t k = i + 1;
            while (k < code.size() && code[k] != q) k += code[k] == '\\' ? 2 : 1;
            // Keep the quotes (a string stays a token), blank what is inside.
            blank(i + 1, k);
            i = k + 1;
        } else {
            ++i;
        }
    }
    auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    auto line_of = [&](size_t pos) {
        int line = 1;
        for (size_t k = 0; k < pos; ++k) line += src[k] == '\n';
        return line;
    };
    auto skip_back_space = [&](size_t pos) {  // index of the last non-space before pos, or npos
        while (pos > 0 && std::isspace(static_cast<unsigned char>(code[pos - 1]))) --pos;
        return pos == 0 ? std::string::npos : pos - 1;
    };
    auto word_before = [&](size_t end) {  // the identifier ending at code[end]
        size_t b = end + 1;
        while (b > 0 && is_word(code[b - 1])) --b;
        return code.substr(b, end + 1 - b);
    };
    auto match_back = [&](size_t close, char open_c, char close_c) {  // index of the opener
        int depth = 0;
        for (size_t k = close + 1; k-- > 0;) {
            if (code[k] == close_c) ++depth;
            if (code[k] == open_c && --depth == 0) return k;
        }
        return std::string::npos;
    };
    // Does the block opened at `brace` start a function of its own (a lambda or a member
    // function of a local class), so that a return inside it does not end the test?
    auto opens_function = [&](size_t brace) {
        size_t p = skip_back_space(brace);
        // A trailing return type: "-> T", "-> std::vector<int>" (back to the arrow, if any).
        if (p != std::string::npos && (is_word(code[p]) || code[p] == '>')) {
            size_t q = p;
            while (q != std::string::npos && q > 0 &&
                   (is_word(code[q]) || code[q] == ':' || code[q] == '<' || code[q] == '>' ||
                    code[q] == ',' || code[q] == '&' || code[q] == '*' || std::isspace(static_cast<unsigned char>(code[q])))) {
                if (code[q] == '>' && code[q - 1] == '-') break;
                --q;
            }
            if (q != std::string::npos && q > 0 && code[q] == '>' && code[q - 1] == '-') p = skip_back_space(q - 1);
        }
        // Trailing words: mutable, const, noexcept, override.
        while (p != std::string::npos && is_word(code[p])) {
            std::string w = word_before(p);
            if (w != "mutable" && w != "const" && w != "noexcept" && w != "override") break;
            p = skip_back_space(p + 1 - w.size());
        }
        if (p == std::string::npos) return false;
        if (code[p] == ']') return true;  // [&] { ... }
        if (code[p] != ')') return false;
        size_t open = match_back(p, '(', ')');
        if (open == std::string::npos) return false;
        size_t q = skip_back_space(open);
        if (q == std::string::npos) return false;
        if (code[q] == ']') return true;  // [&](int x) { ... }
        if (!is_word(code[q])) return false;
        std::string w = word_before(q);
        static const char* const blocks[] = {"if", "for", "while", "switch", "catch", "SECTION",
                                             "DYNAMIC_SECTION", "GIVEN", "WHEN", "THEN", "AND_GIVEN",
                                             "AND_WHEN", "AND_THEN"};
        for (const char* b : blocks)
            if (w == b) return false;
        return true;  // name(...) { ... }: a function
    };

    std::vector<EarlyReturn> found;
    static const char* const tests[] = {"TEST_CASE_METHOD", "TEST_CASE", "SCENARIO"};
    for (size_t i = 0; i < code.size(); ++i) {
        if (!is_word(code[i]) || (i > 0 && is_word(code[i - 1]))) continue;
        std::string word;
        for (size_t k = i; k < code.size() && is_word(code[k]); ++k) word += code[k];
        bool is_test = false;
        for (const char* t : tests) is_test = is_test || word == t;
        if (!is_test) {
            i += word.size() - 1;
            continue;
        }
        size_t open = code.find_first_not_of(" \t\r\n", i + word.size());
        if (open == std::string::npos || code[open] != '(') continue;
        int depth = 0;
        size_t close = open;
        for (; close < code.size(); ++close) {
            if (code[close] == '(') ++depth;
            if (code[close] == ')' && --depth == 0) break;
        }
        size_t body = code.find_first_not_of(" \t\r\n", close + 1);
        if (body == std::string::npos || code[body] != '{') continue;  // a declaration or macro text
        // The first argument (commas inside its string were blanked in `code`).
        std::string name = src.substr(open + 1, std::min(close, code.find(',', open)) - open - 1);
        // Walk the body: a stack of blocks, true where a block opens a function of its own.
        std::vector<bool> stack{false};
        size_t k = body + 1;
        for (; k < code.size() && !stack.empty(); ++k) {
            char c = code[k];
            if (c == '{') {
                stack.push_back(stack.back() || opens_function(k));
            } else if (c == '}') {
                stack.pop_back();
            } else if (is_word(c) && !is_word(code[k - 1]) && code.compare(k, 6, "return") == 0 &&
                       (k + 6 >= code.size() || !is_word(code[k + 6]))) {
                if (!stack.back()) found.push_back({line_of(k), name});
                k += 5;
            }
        }
        i = k;
    }
    return found;
}

}  // namespace veeamha::test
