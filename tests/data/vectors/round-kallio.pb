META
key;value
description;Osallistuva budjetointi 2026
country;Finland
unit;Tori
district;Kallio
instance;2026
num_projects;5
num_votes;10
budget;100000
vote_type;approval
rule;greedy
date_begin;01.10.2026
date_end;21.10.2026
language;fi
currency;EUR
PROJECTS
project_id;cost;votes;name;selected
1;60000;6;Iso puisto;1
2;20000;5;"Penkit; ""kolme""";1
3;20000;5;Valot;1
4;20000;4;Kukat;0
5;40000;4;Yhteissauna;0
VOTES
voter_id;vote
1;1,2,3,4
2;1,2,3,4
3;1,2,3,4
4;1,2,3,4
5;1,2,3
6;1
7;5
8;5
9;5
10;5
