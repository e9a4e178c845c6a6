META
key;value
description;Osallistuva budjetointi 2026
country;Finland
unit;Tori
instance;2026
num_projects;2
num_votes;5
budget;50000
vote_type;approval
rule;greedy
date_begin;01.10.2026
date_end;21.10.2026
language;fi
currency;EUR
PROJECTS
project_id;cost;votes;name;selected
6;30000;3;Kirjaston aukiolo;1
7;30000;2;Uimaranta;0
VOTES
voter_id;vote
1;6
2;6
3;7
4;6
5;7
