# title: quoting
select "x" from "main"."t" order by x;
SELECT `x` FROM `main`.`t` ORDER BY x NULLS LAST;
